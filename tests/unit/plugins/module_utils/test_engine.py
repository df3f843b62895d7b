"""engine.py with an in-memory stand-in for KibanaClient: sets, prune scope, and fault recovery."""
import base64
import copy
import uuid

import pytest

from ansible_collections.kibana_gitops.connectors.plugins.module_utils import engine as engine_mod
from ansible_collections.kibana_gitops.connectors.plugins.module_utils.engine import Engine, pki_supported
from ansible_collections.kibana_gitops.connectors.plugins.module_utils.kibana import KibanaError
from ansible_collections.kibana_gitops.connectors.plugins.module_utils.reconcile import PlanError

# What Kibana fills in for the types these tests use (reference §2.1), written out by hand: filling them with
# reconcile.with_server_defaults would build the expectation with the code under test (issue 9 §7).
SERVER_DEFAULTS = {'.index': {'refresh': False, 'executionTimeField': None}, '.server-log': {}, '.slack': {}}


def with_server_defaults(type_id, config):
    return dict(SERVER_DEFAULTS[type_id], **(config or {}))


class FakeKibana(object):
    """Just enough of KibanaClient; `lose_next` applies the next write and then 'loses' the answer."""

    def __init__(self, connectors=(), version='9.2.0'):
        self.store = dict((c['id'], dict(c)) for c in connectors)
        self.calls = []
        self.lose_next = set()
        self._version = version

    def _lost(self, what):
        if what in self.lose_next:
            self.lose_next.discard(what)
            raise KibanaError('connection reset', None, what, '/api/actions/...')

    def version(self):
        self.calls.append('status')
        return self._version

    def list_connectors(self, space):
        self.calls.append('list')
        return [copy.deepcopy(c) for c in sorted(self.store.values(), key=lambda c: c['name'].lower())]

    def get_connector(self, space, cid):
        self.calls.append('get')
        return copy.deepcopy(self.store.get(cid))

    def create_connector(self, space, body, connector_id=None):
        self.calls.append('create')
        cid = connector_id or str(uuid.uuid4())
        if cid in self.store:
            raise KibanaError('Saved object [action/%s] conflict' % cid, 409, 'POST', '/x')
        self.store[cid] = {'id': cid, 'name': body['name'], 'connector_type_id': body['connector_type_id'],
                           'config': with_server_defaults(body['connector_type_id'], body['config']),
                           'is_preconfigured': False, 'is_system_action': False, 'referenced_by_count': 0}
        self._lost('create')
        return copy.deepcopy(self.store[cid])

    def update_connector(self, space, cid, body):
        self.calls.append('update')
        c = self.store[cid]
        c.update(name=body['name'], config=with_server_defaults(c['connector_type_id'], body['config']))
        return copy.deepcopy(c)

    def delete_connector(self, space, cid):
        self.calls.append('delete')
        if cid not in self.store:
            raise KibanaError('Saved object [action/%s] not found' % cid, 404, 'DELETE', '/x')
        del self.store[cid]


def index_spec(cid, index='alerts', name=None, **extra):
    s = {'connector_id': cid, 'name': name or cid, 'connector_type_id': '.index', 'config': {'index': index},
         'secrets': {}, 'state': 'present', 'space_id': 'default'}
    s.update(extra)
    return s


def live_index(cid, index='alerts', **extra):
    c = {'id': cid, 'name': cid, 'connector_type_id': '.index', 'is_preconfigured': False, 'is_system_action': False,
         'config': with_server_defaults('.index', {'index': index}), 'referenced_by_count': 0}
    c.update(extra)
    return c


def test_set_noop_costs_one_list():
    kibana = FakeKibana([live_index('a'), live_index('b')])
    results, summary = Engine(kibana).ensure_set([index_spec('a'), index_spec('b')], 'default')
    assert kibana.calls == ['list']
    assert summary['unchanged'] == 2 and summary['total'] == 2


def test_set_writes_only_what_differs():
    kibana = FakeKibana([live_index('a'), live_index('b')])
    results, summary = Engine(kibana).ensure_set([index_spec('a'), index_spec('b', 'other'), index_spec('c')], 'default')
    assert sorted(kibana.calls) == ['create', 'list', 'update']
    assert [r['action'] for r in results] == ['unchanged', 'updated', 'created']
    assert kibana.store['b']['config']['index'] == 'other'


def test_check_mode_writes_nothing():
    kibana = FakeKibana([live_index('a')])
    results, summary = Engine(kibana, check_mode=True).ensure_set([index_spec('a', 'x'), index_spec('n')], 'default')
    assert kibana.calls == ['list'] and summary['updated'] == 1 and summary['created'] == 1


def test_prune_only_within_scope_and_never_referenced_or_preconfigured():
    kibana = FakeKibana([
        live_index('git-keep'), live_index('git-gone'), live_index('git-used', referenced_by_count=2),
        live_index('handmade'), live_index('git-pre', is_preconfigured=True)])
    results, summary = Engine(kibana).ensure_set([index_spec('git-keep')], 'default', prune=True,
                                                 managed_id_prefix='git-')
    by_id = dict((r['connector_id'], r) for r in results)
    assert by_id['git-gone']['action'] == 'deleted' and by_id['git-gone']['pruned']
    assert by_id['git-used']['action'] == 'refused' and 'referenced by 2' in by_id['git-used']['msg']
    assert by_id['git-pre']['action'] == 'refused' and 'preconfigured' in by_id['git-pre']['msg']
    assert 'handmade' not in by_id
    assert set(kibana.store) == {'git-keep', 'git-used', 'handmade', 'git-pre'}


def test_prune_force_deletes_referenced_and_managed_ids_scope():
    kibana = FakeKibana([live_index('used', referenced_by_count=1), live_index('other')])
    results, summary = Engine(kibana).ensure_set([], 'default', prune=True, managed_ids=['used'], force=True,
                                                 prune_empty=True)
    assert summary['deleted'] == 1 and set(kibana.store) == {'other'}


def test_one_failure_does_not_stop_the_others():
    kibana = FakeKibana([live_index('a', connector_type_id='.server-log')])
    results, summary = Engine(kibana).ensure_set([index_spec('a'), index_spec('b')], 'default')
    assert summary['failed'] == 1 and summary['created'] == 1
    assert "cannot change a connector's type" in results[0]['msg']


def retrying(kibana):
    """Make the fake re-send a create to a fixed id after a lost answer, as KibanaClient's retry does."""
    original = kibana.create_connector

    def create_then_retry(space, body, connector_id=None):
        try:
            return original(space, body, connector_id)
        except KibanaError as exc:
            if exc.status is None and connector_id:
                try:
                    return original(space, body, connector_id)
                except KibanaError as again:
                    again.retried = True
                    raise
            raise
    kibana.create_connector = create_then_retry
    return kibana


def test_lost_create_with_id_is_compared_not_duplicated():
    kibana = retrying(FakeKibana())
    kibana.lose_next.add('create')
    result = Engine(kibana).ensure_one(index_spec('a'))
    assert result['action'] == 'created' and list(kibana.store) == ['a']


def test_lost_create_without_id_goes_to_the_derived_id_and_is_compared_not_duplicated():
    kibana = retrying(FakeKibana())
    kibana.lose_next.add('create')
    spec = index_spec(None, name='By name')
    result = Engine(kibana).ensure_one(spec)
    derived = engine_mod.derived_id('default', '.index', 'By name')
    assert list(kibana.store) == [derived] and kibana.calls.count('create') == 2
    assert result['action'] == 'created' and result['connector_id'] == derived and 'lost' in result['msg']


def test_derived_id_is_stable_and_differs_by_space_type_and_name():
    base = engine_mod.derived_id('default', '.index', 'Alerts')
    assert base == engine_mod.derived_id('default', '.index', 'Alerts') == str(uuid.UUID(base))
    # the namespace is part of the contract (docs/internals.md): the same inputs give this id forever
    assert base == str(uuid.uuid5(uuid.UUID('ee56490c-d5b9-58ae-8d47-819a2a6ca3b1'), '["default",".index","Alerts"]'))
    others = {engine_mod.derived_id('ops', '.index', 'Alerts'), engine_mod.derived_id('default', '.webhook', 'Alerts'),
              engine_mod.derived_id('default', '.index', 'alerts'), engine_mod.derived_id('default', '.index', 'Alerts ')}
    assert base not in others and len(others) == 4


def test_concurrent_create_reports_what_each_run_did():
    """Two runs plan a create for the same name-only spec; only the one whose POST succeeded says created."""
    kibana = FakeKibana()
    spec = index_spec(None, name='Shared')
    first, second = Engine(kibana), Engine(kibana)
    plan_live = kibana.list_connectors('default')  # both runs listed before either wrote
    one = first._reconcile(spec, first._match_by_name(spec, plan_live))
    two = second._reconcile(spec, second._match_by_name(spec, plan_live))
    assert len(kibana.store) == 1
    assert (one['action'], one['changed']) == ('created', True)
    assert (two['action'], two['changed']) == ('unchanged', False) and 'already existed' in two['msg']
    assert one['connector_id'] == two['connector_id'] == engine_mod.derived_id('default', '.index', 'Shared')


def test_concurrent_create_with_other_content_updates_it():
    kibana = FakeKibana()
    plan_live = kibana.list_connectors('default')
    Engine(kibana)._reconcile(index_spec(None, name='Shared', config={'index': 'a'}), None)
    other = Engine(kibana)._reconcile(index_spec(None, name='Shared', config={'index': 'b'}),
                                      Engine._match_by_name(index_spec(None, name='Shared'), plan_live))
    assert other['action'] == 'updated' and other['changed'] and len(kibana.store) == 1
    assert list(kibana.store.values())[0]['config']['index'] == 'b'


def test_name_only_spec_adopts_a_handmade_connector_by_name():
    kibana = FakeKibana([live_index('random-uuid-from-ui', name='Handmade')])
    results, summary = Engine(kibana).ensure_set([index_spec(None, name='Handmade')], 'default')
    assert results[0]['action'] == 'unchanged' and results[0]['connector_id'] == 'random-uuid-from-ui'
    assert set(kibana.store) == {'random-uuid-from-ui'}


def test_check_mode_create_without_id_names_the_derived_id():
    kibana = FakeKibana()
    results, _summary = Engine(kibana, check_mode=True).ensure_set([index_spec(None, name='New')], 'default')
    assert results[0]['connector_id'] == engine_mod.derived_id('default', '.index', 'New')
    assert results[0]['diff']['after']['connector_id'] == results[0]['connector_id'] and kibana.calls == ['list']


# ---------------------------------------------------------------------------------------------- prune guards
def test_prune_of_an_empty_set_is_refused_before_any_request():
    kibana = FakeKibana([live_index('git-a'), live_index('git-b')])
    for specs in ([], [index_spec('git-a', state='absent')]):
        with pytest.raises(engine_mod.GuardError, match='prune_empty'):
            Engine(kibana).ensure_set(specs, 'default', prune=True, managed_id_prefix='git-')
    assert kibana.calls == [] and set(kibana.store) == {'git-a', 'git-b'}
    _results, summary = Engine(kibana).ensure_set([], 'default', prune=True, managed_id_prefix='git-', prune_empty=True)
    assert summary['deleted'] == 2 and kibana.store == {}


def test_empty_set_without_prune_is_fine():
    kibana = FakeKibana([live_index('git-a')])
    _results, summary = Engine(kibana).ensure_set([], 'default')
    assert summary['total'] == 0 and set(kibana.store) == {'git-a'}


def test_ambiguous_spec_stops_the_prune_of_its_space():
    """Both candidates of an ambiguous name-only spec used to be pruned; now nothing is."""
    kibana = FakeKibana([live_index('git-1', name='Same'), live_index('git-2', name='Same'), live_index('git-keep'),
                         live_index('git-old')])
    eng = Engine(kibana)
    results, summary = eng.ensure_set([index_spec(None, name='Same'), index_spec('git-keep')], 'default', prune=True,
                                      managed_id_prefix='git-')
    assert set(kibana.store) == {'git-1', 'git-2', 'git-keep', 'git-old'}
    refused = dict((r['connector_id'], r['msg']) for r in results if r['action'] == 'refused')
    assert set(refused) == {'git-1', 'git-2', 'git-old'}
    assert all('could not be planned' in m and 'ambiguous' in m for m in refused.values())
    assert summary['failed'] == 1 and 'could not be planned' in eng.prune_refusal


def test_a_type_change_stops_the_prune_too():
    kibana = FakeKibana([live_index('git-a', connector_type_id='.server-log'), live_index('git-old')])
    eng = Engine(kibana)
    results, _summary = eng.ensure_set([index_spec('git-a')], 'default', prune=True, managed_id_prefix='git-')
    assert 'git-old' in kibana.store and eng.prune_refusal


@pytest.mark.parametrize('max_deletes,deleted', [(2, 2), (1, 0), ('2', 2), ('50%', 2), ('49%', 0), ('100%', 2),
                                                 ('0', 0)])
def test_max_deletes_refuses_the_whole_prune_past_it(max_deletes, deleted):
    kibana = FakeKibana([live_index('git-keep'), live_index('git-x'), live_index('git-y'), live_index('git-z'),
                         live_index('other')])
    eng = Engine(kibana)
    results, summary = eng.ensure_set([index_spec('git-keep'), index_spec('git-z')], 'default', prune=True,
                                      managed_id_prefix='git-', max_deletes=max_deletes)
    assert summary['deleted'] == deleted
    if deleted:
        assert set(kibana.store) == {'git-keep', 'git-z', 'other'} and eng.prune_refusal is None
    else:
        assert set(kibana.store) == {'git-keep', 'git-x', 'git-y', 'git-z', 'other'}
        assert 'max_deletes' in eng.prune_refusal and summary['refused'] == 2


@pytest.mark.parametrize('value', ['ten', '-1', '150%', '1.5', True, '5 %x'])
def test_max_deletes_must_be_a_count_or_a_percentage(value):
    with pytest.raises(ValueError, match='max_deletes'):
        engine_mod.parse_max_deletes(value)


def test_a_single_reference_is_enough_to_refuse_prune_and_absent():
    """referenced_by_count 1 (not only 2) blocks both prune and state: absent without force."""
    kibana = FakeKibana([live_index('git-once', referenced_by_count=1), live_index('git-keep')])
    results, _summary = Engine(kibana).ensure_set([index_spec('git-keep')], 'default', prune=True,
                                                  managed_id_prefix='git-')
    assert [r['action'] for r in results if r['connector_id'] == 'git-once'] == ['refused']
    result = Engine(kibana).ensure_one({'connector_id': 'git-once', 'state': 'absent'})
    assert result['action'] == 'refused' and 'referenced by 1' in result['msg'] and 'git-once' in kibana.store
    results, _summary = Engine(kibana).ensure_set([{'connector_id': 'git-once', 'state': 'absent'}], 'default')
    assert results[0]['action'] == 'refused' and 'git-once' in kibana.store
    result = Engine(kibana).ensure_one({'connector_id': 'git-once', 'state': 'absent'}, force=True)
    assert result['action'] == 'deleted' and 'git-once' not in kibana.store


def test_derived_id_of_a_renamed_name_only_connector_is_not_pruned():
    derived = engine_mod.derived_id('default', '.index', 'Mine')
    kibana = FakeKibana([live_index(derived, name='Renamed in the UI')])
    results, _summary = Engine(kibana).ensure_set([index_spec(None, name='Mine')], 'default', prune=True,
                                                  managed_ids=[derived])
    assert [r['action'] for r in results] == ['updated'] and kibana.store[derived]['name'] == 'Mine'


def test_delete_that_meets_404_on_retry_is_done():
    kibana = FakeKibana([live_index('a')])
    eng = Engine(kibana)
    del kibana.store['a']  # the first DELETE was applied, its answer lost; the retry meets 404
    result = eng._reconcile({'connector_id': 'a', 'state': 'absent'}, live_index('a'))
    assert result['action'] == 'deleted'


def test_update_without_required_secrets_is_refused_before_any_write():
    kibana = FakeKibana([{'id': 's', 'name': 'S', 'connector_type_id': '.slack', 'config': {},
                          'is_preconfigured': False}])
    with pytest.raises(PlanError, match='must be sent again'):
        Engine(kibana).ensure_one({'connector_id': 's', 'name': 'S2', 'connector_type_id': '.slack', 'config': {},
                                   'secrets': {}, 'state': 'present'})
    assert 'update' not in kibana.calls


def test_ambiguous_name_names_candidates():
    kibana = FakeKibana([live_index('x1', name='Same'), live_index('x2', name='Same')])
    with pytest.raises(PlanError, match='x1, x2'):
        Engine(kibana).ensure_one(index_spec(None, name='Same'))


@pytest.mark.parametrize('version,ok', [('8.18.3', False), ('8.19.0', True), ('9.0.4', False), ('9.1.0', True),
                                        ('9.2.0', True), ('10.0.0', True), ('', True)])
def test_pki_version_gate(version, ok):
    assert pki_supported(version) is ok


def test_pki_on_old_kibana_is_refused_before_any_write():
    kibana = FakeKibana(version='9.0.2')
    spec = {'connector_id': 'llm', 'name': 'LLM', 'connector_type_id': '.gen-ai', 'state': 'present',
            'config': {'apiProvider': 'Other', 'apiUrl': 'https://llm/v1', 'defaultModel': 'm'},
            'secrets': {'certificateData': base64.b64encode(b'-----BEGIN CERTIFICATE-----\nx\n').decode(),
                        'privateKeyData': base64.b64encode(b'-----BEGIN PRIVATE KEY-----\nx\n').decode()}}
    with pytest.raises(engine_mod.SpecError, match='9.1.0 is the first release that accepts it'):
        Engine(kibana).prepare([spec])
    assert kibana.calls == ['status']
    # in a set, only that connector is refused; the others go on, and prune never deletes what it names
    kibana = FakeKibana([live_index('llm', name='LLM')], version='9.0.2')
    engine = Engine(kibana)
    prepared = engine.prepare([spec, index_spec('ix')], allow_refusals=True)
    assert [s['connector_id'] for s in prepared] == ['ix']
    results, summary = engine.ensure_set(prepared, 'default', prune=True, managed_ids=['llm', 'ix'])
    assert summary['created'] == 1 and summary['refused'] == 1 and summary['deleted'] == 0
    refused = [r for r in results if r['action'] == 'refused'][0]
    assert refused['connector_id'] == 'llm' and refused['kibana_version'] == '9.0.2'
    assert refused['accepted_from'] == '9.1.0' and 'Kibana 9.0.2 cannot take this spec' in refused['msg']
    assert 'llm' in kibana.store


def test_defaults_of_the_instance_release_no_perpetual_diff():
    """8.x fills gpt-4 as the OpenAI default model: a spec without defaultModel is unchanged on 8.18."""
    spec = {'connector_id': 'oa', 'name': 'OA', 'connector_type_id': '.gen-ai', 'state': 'present',
            'config': {'apiProvider': 'OpenAI', 'apiUrl': 'https://api.openai.com/v1/chat/completions'},
            'secrets': {'apiKey': 'k'}}
    live = {'id': 'oa', 'name': 'OA', 'connector_type_id': '.gen-ai', 'is_preconfigured': False,
            'config': {'apiProvider': 'OpenAI', 'apiUrl': 'https://api.openai.com/v1/chat/completions',
                       'defaultModel': 'gpt-4'}}
    engine = Engine(FakeKibana([live], version='8.18.0'))
    assert engine.ensure_one(engine.prepare([spec])[0])['action'] == 'unchanged'
    engine = Engine(FakeKibana([live], version='9.2.0'), check_mode=True)  # 9.x would store gpt-4.1
    assert engine.ensure_one(engine.prepare([spec])[0])['changes'] == ['config.defaultModel']
