"""usage.py: dashboard ids and links, and the usage role's plan (pure)."""
import pytest

from ansible_collections.kibana_gitops.connectors.plugins.module_utils import usage


def live_role(body, name='r'):
    """What Kibana's GET answers for a role PUT with `body` (its defaults filled in)."""
    role = {'name': name}
    if body.get('description'):
        role['description'] = body['description']
    es = body['elasticsearch']
    role.update({
        'metadata': dict(body.get('metadata') or {}), 'transient_metadata': {'enabled': True},
        'elasticsearch': {'cluster': list(es.get('cluster') or []), 'run_as': list(es.get('run_as') or []),
                          'indices': [dict({'allow_restricted_indices': False}, **e) for e in es.get('indices') or []]},
        'kibana': [{'base': list(e.get('base') or []), 'feature': dict(e.get('feature') or {}),
                    'spaces': list(e.get('spaces') or ['*'])} for e in body.get('kibana') or []],
        '_transform_error': [], '_unrecognized_applications': []})
    return role


@pytest.mark.parametrize('type_id, space, expected', [
    ('.gen-ai', 'default', 'generative-ai-token-usage-openai-default'),
    ('.bedrock', 'team-a', 'generative-ai-token-usage-bedrock-team-a'),
    ('.gemini', 'x', 'generative-ai-token-usage-gemini-x'),
    ('.slack', 'default', None),
])
def test_dashboard_id_per_provider_and_space(type_id, space, expected):
    assert usage.dashboard_id(type_id, space) == expected


def test_dashboard_url_has_space_prefix_and_connector_query():
    url = usage.dashboard_url('https://kb.example.com/', 'team-a', 'generative-ai-token-usage-openai-team-a', 'llm-1')
    assert url.startswith('https://kb.example.com/s/team-a/app/dashboards#/view/generative-ai-token-usage-openai-team-a?_a=')
    assert "(query:(language:kuery,query:'kibana.saved_objects:%20%7B%20id%20%20:%20llm-1%20%7D'))" in url
    assert '/s/' not in usage.dashboard_url('https://kb', 'default', 'd', 'c')


def test_rison_quotes_are_escaped():
    url = usage.dashboard_url('http://kb', 'default', 'd', "it's!")
    assert "it!'s!!" in url


def test_usage_dashboard_answers():
    conn = {'id': 'c', 'connector_type_id': '.gen-ai'}
    ok = usage.usage_dashboard('http://kb', 'default', conn, {'status': 'ok', 'data': {'available': True}})
    assert ok['available'] and ok['url'] and ok['reason'] is None
    no = usage.usage_dashboard('http://kb', 'default', conn, {'status': 'ok', 'data': {'available': False}})
    assert not no['available'] and no['url'] is None and '.kibana-event-log-*' in no['reason']
    err = usage.usage_dashboard('http://kb', 'default', conn, {'status': 'error', 'message': 'm', 'service_message': 'sm'})
    assert err['reason'] == 'getDashboard failed: sm'
    exc = usage.usage_dashboard('http://kb', 'default', conn, error=RuntimeError('boom'))
    assert exc['reason'] == 'getDashboard failed: boom' and exc['dashboard_id'] == 'generative-ai-token-usage-openai-default'


def test_create_then_unchanged():
    action, body, before, after = usage.plan_role(None, ['*'])
    assert action == 'created' and before == {} and after == body
    assert body['elasticsearch']['indices'] == [{'names': ['.kibana-event-log-*'], 'privileges': ['read', 'view_index_metadata'],
                                                 'allow_restricted_indices': False}]
    assert body['kibana'] == [{'base': ['read'], 'feature': {}, 'spaces': ['*']}]
    assert usage.plan_role(live_role(body), ['*'])[0] == 'unchanged'


def test_only_owned_privileges_are_written():
    other = {'description': 'theirs', 'metadata': {'team': 'x'},
             'elasticsearch': {'cluster': ['monitor'], 'indices': [{'names': ['logs-*'], 'privileges': ['read']}],
                               'run_as': ['svc']},
             'kibana': [{'feature': {'discover': ['read']}, 'spaces': ['ops']}]}
    action, body, _before, _after = usage.plan_role(live_role(other), ['*'])
    assert action == 'updated'
    assert body['description'] == 'theirs' and body['metadata']['team'] == 'x'
    assert body['elasticsearch']['cluster'] == ['monitor'] and body['elasticsearch']['run_as'] == ['svc']
    assert body['elasticsearch']['indices'][0] == {'names': ['logs-*'], 'privileges': ['read'], 'allow_restricted_indices': False}
    assert body['kibana'][0] == {'base': [], 'feature': {'discover': ['read']}, 'spaces': ['ops']}
    assert body['kibana'][1] == {'base': ['read'], 'feature': {}, 'spaces': ['*']}
    assert usage.plan_role(live_role(body), ['*'])[0] == 'unchanged'
    # absent takes back exactly what it added
    action, rest, _b, _a = usage.plan_role(live_role(body), ['*'], 'absent')
    assert action == 'updated' and rest == usage.editable(live_role(other))


def test_existing_all_is_enough_and_extra_index_privileges_stay():
    role = {'elasticsearch': {'indices': [{'names': ['.kibana-event-log-*'], 'privileges': ['read', 'monitor']}]},
            'kibana': [{'base': ['all'], 'spaces': ['*']}], 'metadata': {}}
    action, body, _b, _a = usage.plan_role(live_role(role), ['*'])
    assert body['elasticsearch']['indices'][0]['privileges'] == ['read', 'monitor', 'view_index_metadata']
    assert body['kibana'] == [{'base': ['all'], 'feature': {}, 'spaces': ['*']}]
    assert action == 'updated'


def test_changing_spaces_moves_the_grant():
    _a, body, _b, _c = usage.plan_role(None, ['*'])
    action, moved, _b, _c = usage.plan_role(live_role(body), ['team-b', 'team-a'])
    assert action == 'updated'
    assert moved['kibana'] == [{'base': ['read'], 'feature': {}, 'spaces': ['team-a', 'team-b']}]
    assert moved['metadata'][usage.MARKER] == {'spaces': ['team-a', 'team-b']}


def test_clash_with_another_entry_is_an_error_naming_it():
    role = {'elasticsearch': {}, 'kibana': [{'feature': {'discover': ['all']}, 'spaces': ['a', 'b']}]}
    with pytest.raises(usage.RoleError, match='spaces a, b in another entry .features discover'):
        usage.plan_role(live_role(role), ['b'])


def test_absent_deletes_a_role_with_nothing_else():
    _a, body, _b, _c = usage.plan_role(None, ['*'])
    action, rest, before, after = usage.plan_role(live_role(body), ['*'], 'absent')
    assert (action, rest, after) == ('deleted', None, {}) and before
    assert usage.plan_role(None, ['*'], 'absent')[0] == 'unchanged'


@pytest.mark.parametrize('spaces, message', [
    ([], 'must not be empty'), (['*', 'a'], 'cannot be combined'), (['Bad'], 'must be lower case'),
])
def test_bad_spaces(spaces, message):
    with pytest.raises(usage.RoleError, match=message):
        usage.plan_role(None, spaces)


def test_reserved_and_untransformable_roles_are_left_alone():
    with pytest.raises(usage.RoleError, match='reserved'):
        usage.plan_role({'name': 'superuser', 'metadata': {'_reserved': True}}, ['*'])
    with pytest.raises(usage.RoleError, match='cannot write back'):
        usage.plan_role(dict(live_role({'elasticsearch': {}}), _transform_error=['kibana']), ['*'])
