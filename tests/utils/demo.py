"""`make demo`: start the Kibana simulator, apply the example connectors twice, show what happened."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402

PLAYBOOK = os.path.join(harness.ROOT, 'playbooks', 'examples', 'demo.yml')
API_KEY = 'demo-api-key'


def main():
    sim = harness.Simulator('kibana', ['--api-key', API_KEY])
    try:
        print('Kibana simulator: %s (API key auth)\n' % sim.url)
        env = {'KIBANA_URL': sim.url, 'KIBANA_API_KEY': API_KEY}
        for attempt in ('first run: creates the connectors', 'second run: nothing to change'):
            sim.reset_stats()
            print('=== %s ===' % attempt)
            result = harness.run_playbook(PLAYBOOK, env=env)
            print(result.stdout)
            if result.rc != 0:
                print(result.stderr)
                return result.rc
            stats = sim.stats()
            print('HTTP requests Kibana saw: %s (writes: %d)\n' % (stats['total'], sim.writes()))
        print('Connectors now in Kibana (default space):')
        for c in sim.api('GET', '/api/actions/connectors', api_key=API_KEY)[1]:
            print('  %-18s %-12s %s' % (c['id'], c['connector_type_id'], c['name']))
        return 0
    finally:
        sim.stop()


if __name__ == '__main__':
    sys.exit(main())
