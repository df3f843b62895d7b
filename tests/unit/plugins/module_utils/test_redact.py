"""redact.py: one masking function for messages and written files, in every form a secret travels."""
import base64
from urllib.parse import quote, quote_plus

from ansible_collections.kibana_gitops.connectors.plugins.module_utils import redact

SECRET = 'CANARY-s3cr3t/with+chars=&'


def test_every_form_of_a_secret_is_masked():
    raw = SECRET.encode()
    text = ' | '.join([SECRET, quote(SECRET, safe=''), quote_plus(SECRET), base64.b64encode(raw).decode(),
                       base64.urlsafe_b64encode(raw).decode().rstrip('=')])
    masked = redact.mask(text, [SECRET])
    assert 'CANARY' not in masked and 'Q0FOQVJZ' not in masked and masked.count(redact.MASK) == 5


def test_basic_auth_header_value_is_a_credential():
    values = redact.credential_values(username='elastic', password=SECRET)
    header = 'Basic ' + base64.b64encode(('elastic:' + SECRET).encode()).decode()
    assert redact.Masker(values)(header) == 'Basic ' + redact.MASK
    assert redact.connection_credentials({'api_key': 'CANARY-key-1'}) >= {'CANARY-key-1'}


def test_short_or_empty_values_are_not_masked_and_data_is_walked():
    masker = redact.Masker(['ab', '', None, SECRET])
    assert masker('ab cd') == 'ab cd'
    assert masker.data({'a': [SECRET, 1, {'b': 'x %s y' % SECRET}]}) == \
        {'a': [redact.MASK, 1, {'b': 'x %s y' % redact.MASK}]}
    assert masker(None) is None
