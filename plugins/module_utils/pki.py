# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PKI material for Kibana's `.gen-ai` client-certificate authentication: load, check, encode.

Kibana wants ``certificateData``, ``privateKeyData`` and ``caData`` as base64 of PEM text and
only checks the PEM header (reference section 4.2), so everything that would make the connector
fail at run time is checked here, before anything is sent: each value parses, the key matches
the certificate, the certificate is valid now, the CA issued it. The key always leaves as
unencrypted PKCS#8 (``BEGIN PRIVATE KEY``), the one header every Kibana with PKI accepts.

Input values (``certificate``, ``private_key``, ``ca``) are, in this order of precedence:
PEM text (anything containing ``-----BEGIN``); a path to a PEM or DER file on the host running
this code; base64 of DER bytes (what the action plugins send for a DER file).

Messages never contain key material, passphrases or file contents: only field names, file
names, certificate names, dates and fingerprints.
"""
from __future__ import annotations

import base64
import binascii
import datetime
import os
import re
import traceback

from ansible_collections.kibana_gitops.connectors.plugins.module_utils.deps import missing_lib

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID
except ImportError:
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None

PEM_FIELDS = ('certificate', 'private_key', 'ca')
FIELDS = PEM_FIELDS + ('private_key_passphrase',)
# Kibana's secret names (reference section 4.2)
SECRET_NAMES = {'certificate': 'certificateData', 'private_key': 'privateKeyData', 'ca': 'caData'}
DEFAULT_EXPIRY_WARNING_DAYS = 30

_PEM_BLOCK = re.compile(r'-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----', re.DOTALL)
_BASE64 = re.compile(r'^[A-Za-z0-9+/]+={0,2}$')
_KEY_LABELS = {
    'PRIVATE KEY': 'PKCS#8',
    'ENCRYPTED PRIVATE KEY': 'PKCS#8',
    'RSA PRIVATE KEY': 'PKCS#1',
    'EC PRIVATE KEY': 'SEC1',
    'DSA PRIVATE KEY': 'DSA (OpenSSL)',
}
_NOT_FOUND_HINT = ('relative paths are looked up on the controller in the role\'s files/ folder and the playbook\'s '
                   'folder, like copy\'s src')


# First line the action plugins put before the content of a controller file they read, so that messages can name
# the file (the module itself only sees the content). Not part of the material: stripped before parsing.
SOURCE_MARK = '# kibana_gitops.connectors source file: '


def with_source(path, content):
    """Content of a file read on the controller, labelled with its path for messages."""
    return '%s%s\n%s' % (SOURCE_MARK, path, content)


def split_source(value):
    if isinstance(value, str) and value.startswith(SOURCE_MARK):
        first, _nl, rest = value.partition('\n')
        return rest, first[len(SOURCE_MARK):].strip()
    return value, None


class PkiError(Exception):
    """PKI material is unusable. ``problems``: list of (json_pointer, message); messages name the field."""

    def __init__(self, problems):
        self.problems = list(problems)
        self.field = self.problems[0][0].lstrip('/') if self.problems else None
        super(PkiError, self).__init__('; '.join(_label(pointer, msg) for pointer, msg in self.problems))


def _label(pointer, message):
    field = pointer.lstrip('/')
    return '%s: %s' % (field, message) if field else message


class _Report(object):
    """Problems found while inspecting a pki block: (json_pointer, message, severity)."""

    def __init__(self):
        self.problems = []
        self.files = {}  # field -> the file its value came from: every message about the field names it

    def _where(self, field, message):
        path = self.files.get(field)
        return '%s (file %s)' % (message, path) if path and path not in message else message

    def error(self, field, message):
        self.problems.append(('/' + field if field else '', self._where(field, message), 'error'))

    def warning(self, field, message):
        self.problems.append(('/' + field if field else '', self._where(field, message), 'warning'))

    @property
    def errors(self):
        return [(p, m) for p, m, s in self.problems if s == 'error']

    @property
    def warnings(self):
        return [(p, m) for p, m, s in self.problems if s == 'warning']


# ---------------------------------------------------------------------------------------------- public API

def secrets_from_pki(pki_block, expiry_warning_days=DEFAULT_EXPIRY_WARNING_DAYS, base_dir=None):
    """Check a pki block and encode it into Kibana's secrets.

    Returns (secrets, facts, warnings): ``secrets`` has ``certificateData``, ``privateKeyData``
    and, with a CA, ``caData`` (base64 of PEM text); ``facts`` describe the certificate (no key
    material); ``warnings`` are strings naming the field. Raises PkiError listing every error.
    ``base_dir``: folder that relative paths are read from (a spec file's folder), else the cwd.
    """
    material, facts, report = _inspect(pki_block, expiry_warning_days, base_dir)
    if report.errors:
        raise PkiError(report.errors)
    secrets = dict((SECRET_NAMES[field], b64encode_text(text)) for field, text in material.items() if text)
    return secrets, facts, [_label(p, m) for p, m in report.warnings]


def check_spec_pki(pki_block, expiry_warning_days=DEFAULT_EXPIRY_WARNING_DAYS, base_dir=None):
    """The same checks for the spec validator: [(json_pointer_under_pki, message, 'error'|'warning')]."""
    return _inspect(pki_block, expiry_warning_days, base_dir)[2].problems


def inspect_pki(pki_block, expiry_warning_days=DEFAULT_EXPIRY_WARNING_DAYS, base_dir=None):
    """(material, facts, problems): PEM texts by field (key as unencrypted PKCS#8), facts, all problems."""
    material, facts, report = _inspect(pki_block, expiry_warning_days, base_dir)
    return material, facts, report.problems


def b64encode_text(text):
    return base64.b64encode(text.encode('ascii')).decode('ascii')


# ---------------------------------------------------------------------------------------------- inspection

def _inspect(pki_block, expiry_warning_days, base_dir, now=None):
    report = _Report()
    material = {}
    facts = {}
    if not isinstance(pki_block, dict):
        report.error('', 'must be a mapping with certificate, private_key and optionally ca and private_key_passphrase')
        return material, facts, report
    for key in sorted(pki_block):
        if key not in FIELDS:
            report.error(key, 'unknown key; allowed: %s' % ', '.join(FIELDS))
    values = {}
    for field in FIELDS:
        value = pki_block.get(field)
        if value is None or value == '':
            continue
        if not isinstance(value, str):
            report.error(field, 'must be a string (PEM text or a file path), not %s' % type(value).__name__)
            continue
        values[field] = value
    for field in ('certificate', 'private_key'):
        if field not in values and not any(p == '/' + field for p, _m, _s in report.problems):
            # Kibana's own rule (reference section 4.2): PKI needs both certificate and private key
            report.error(field, 'is required: Kibana needs both a certificate and a private key for PKI')
    if report.errors:
        return material, facts, report
    if not HAS_CRYPTOGRAPHY:
        report.error('', missing_lib('cryptography'))
        return material, facts, report

    now = now or datetime.datetime.now(datetime.timezone.utc)
    sources = dict((field, _read_value(report, field, values[field], base_dir)) for field in PEM_FIELDS if field in values)
    certs = _load_certificates(report, 'certificate', sources['certificate']) if sources.get('certificate') else None
    key, key_format = None, None
    if sources.get('private_key'):
        key, key_format = _load_private_key(report, sources['private_key'], values.get('private_key_passphrase'))
    cas = _load_certificates(report, 'ca', sources['ca']) if sources.get('ca') else None
    if values.get('private_key_passphrase') and key is not None and not key_format[1]:
        report.warning('private_key_passphrase', 'is set but the private key is not encrypted; it was not used')

    if certs:
        leaf = certs[0]
        _check_validity(report, 'certificate', leaf, now, expiry_warning_days, fatal=True)
        _check_client_auth(report, leaf)
        facts.update(_certificate_facts(leaf, now))
        if len(certs) > 1:
            facts['chain'] = [_short_facts(c) for c in certs[1:]]
        material['certificate'] = ''.join(_cert_pem(c) for c in certs)
    if key is not None:
        facts['key_type'] = _key_type(key)
        facts['private_key_format'] = key_format[0]
        facts['private_key_encrypted'] = key_format[1]
        if isinstance(key, rsa.RSAPrivateKey) and key.key_size < 2048:
            report.warning('private_key', 'is a %d-bit RSA key; OpenSSL at its default security level refuses RSA keys '
                                          'under 2048 bits' % key.key_size)
        if certs and not _same_public_key(key.public_key(), certs[0].public_key()):
            report.error('private_key', 'does not match the certificate (%s, SHA-256 %s): it is not the key the '
                                        'certificate was issued for' % (facts['subject'], facts['fingerprint_sha256']))
        material['private_key'] = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()).decode('ascii')
    if cas:
        for ca_cert in cas:
            _check_validity(report, 'ca', ca_cert, now, expiry_warning_days, fatal=False)
        facts['ca'] = [_short_facts(c) for c in cas]
        if certs:
            issuer = _issuer_in(certs, cas)
            facts['ca_issued_certificate'] = issuer is not None
            if issuer is None:
                report.error('ca', 'did not issue the certificate: no certificate in ca (%s) signed it (its issuer is %s)'
                             % (', '.join(c.subject.rfc4514_string() for c in cas), certs[0].issuer.rfc4514_string()))
        material['ca'] = ''.join(_cert_pem(c) for c in cas)
    return material, facts, report


def _read_value(report, field, value, base_dir):
    """('pem', text) or ('der', bytes) for a value that is PEM text, a file path or base64 DER; None on error."""
    value, source = split_source(value)
    if source:
        report.files[field] = source
    if '-----BEGIN' in value:
        return 'pem', value
    candidate = value.strip()
    if '\n' not in candidate and len(candidate) < 4096:
        path = os.path.expanduser(candidate)
        if base_dir and not os.path.isabs(path):
            path = os.path.join(base_dir, path)
        if os.path.isfile(path):
            report.files[field] = path
            try:
                with open(path, 'rb') as f:
                    data = f.read()
            except (IOError, OSError) as exc:
                report.error(field, 'file %s could not be read: %s' % (os.path.basename(path), exc.strerror))
                return None
            if b'-----BEGIN' in data:
                return 'pem', data.decode('utf-8', 'replace')
            return 'der', data
    compact = ''.join(candidate.split())
    if compact and len(compact) % 4 == 0 and _BASE64.match(compact):
        try:
            data = base64.b64decode(compact)
        except (binascii.Error, ValueError):
            data = b''
        if data[:1] == b'\x30':  # a DER SEQUENCE
            return 'der', data
    report.error(field, 'is not PEM text (no -----BEGIN line), not base64 of DER, and not a file that exists (%s)'
                 % _NOT_FOUND_HINT)
    return None


def _pem_blocks(text):
    return [(m.group(1), m.group(0)) for m in _PEM_BLOCK.finditer(text)]


def _load_certificates(report, field, source):
    """The certificates of a PEM text (one or more) or a DER blob; None and an error when there are none."""
    kind, data = source
    if kind == 'der':
        try:
            return [x509.load_der_x509_certificate(data)]
        except ValueError:
            report.error(field, 'is not PEM text, and as DER it does not parse as an X.509 certificate')
            return None
    blocks = _pem_blocks(data)
    cert_blocks = [pem for label, pem in blocks if label == 'CERTIFICATE']
    if not cert_blocks:
        labels = [label for label, _pem in blocks]
        if any('PRIVATE KEY' in label for label in labels):
            report.error(field, 'holds a private key, not a certificate (are certificate and private_key swapped?)')
        elif labels:
            report.error(field, 'has no -----BEGIN CERTIFICATE----- block (found: %s)' % ', '.join(sorted(set(labels))))
        else:
            report.error(field, 'has no complete -----BEGIN CERTIFICATE----- ... -----END CERTIFICATE----- block')
        return None
    certs = []
    for index, pem in enumerate(cert_blocks):
        try:
            certs.append(x509.load_pem_x509_certificate(pem.encode('ascii')))
        except (ValueError, UnicodeEncodeError):
            report.error(field, 'certificate block %d of %d does not parse as an X.509 certificate' % (index + 1, len(cert_blocks)))
            return None
    return certs


def _load_private_key(report, source, passphrase):
    """(key, (format description, encrypted)) or (None, None) with an error; never a message with key material."""
    kind, data = source
    password = passphrase.encode('utf-8') if passphrase else None
    if kind == 'der':
        return _deserialize_key(report, serialization.load_der_private_key, data, password, 'DER', None)
    blocks = _pem_blocks(data)
    key_blocks = [(label, pem) for label, pem in blocks if label.endswith('PRIVATE KEY')]
    labels = [label for label, _pem in blocks]
    if not key_blocks:
        if 'CERTIFICATE' in labels:
            report.error('private_key', 'holds a certificate, not a private key (are certificate and private_key swapped?)')
        elif 'PUBLIC KEY' in labels or 'RSA PUBLIC KEY' in labels:
            report.error('private_key', 'holds a public key, not a private key')
        else:
            report.error('private_key', 'has no complete -----BEGIN PRIVATE KEY----- (or RSA/EC PRIVATE KEY) block')
        return None, None
    if len(key_blocks) > 1:
        report.error('private_key', 'holds %d private keys; give exactly one' % len(key_blocks))
        return None, None
    label, pem = key_blocks[0]
    if label == 'OPENSSH PRIVATE KEY':
        report.error('private_key', 'is in OpenSSH format, which TLS libraries do not read; convert it to PKCS#8 '
                                    '(ssh-keygen -p -m PKCS8 -f <file>)')
        return None, None
    if label not in _KEY_LABELS:
        report.error('private_key', 'has an unsupported PEM type (%s)' % label)
        return None, None
    encrypted = label == 'ENCRYPTED PRIVATE KEY' or 'Proc-Type: 4,ENCRYPTED' in pem
    description = '%s (%s)' % (_KEY_LABELS[label], label)
    return _deserialize_key(report, serialization.load_pem_private_key, pem.encode('ascii', 'replace'), password,
                            description, encrypted)


def _deserialize_key(report, loader, data, password, description, encrypted):
    """Load a key; `encrypted` comes from the PEM header, None for DER (found out by trying)."""
    if encrypted is None:
        try:
            return loader(data, None), (description, False)
        except TypeError:  # "Password was not given but private key is encrypted"
            encrypted = True
        except (ValueError, UnsupportedAlgorithm):
            report.error('private_key', 'is not PEM text, and as DER it does not parse as a private key')
            return None, None
    if encrypted and password is None:
        report.error('private_key', 'is encrypted: set private_key_passphrase')
        return None, None
    try:
        return loader(data, password if encrypted else None), (description, encrypted)
    except UnsupportedAlgorithm:
        report.error('private_key', 'uses a key type or an encryption that is not supported')
    except (ValueError, TypeError):
        if encrypted:
            report.error('private_key', 'could not be decrypted with private_key_passphrase (wrong passphrase, or a '
                                        'damaged key)')
        else:
            report.error('private_key', 'does not parse as a private key (damaged, or not a key)')
    return None, None


# ---------------------------------------------------------------------------------------------- checks

def _not_before(cert):
    value = getattr(cert, 'not_valid_before_utc', None)  # cryptography >= 42
    return value if value is not None else cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)


def _not_after(cert):
    value = getattr(cert, 'not_valid_after_utc', None)
    return value if value is not None else cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)


def _iso(moment):
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ')


def _days_left(cert, now):
    return int((_not_after(cert) - now).total_seconds() // 86400)


def _check_validity(report, field, cert, now, warning_days, fatal):
    name = cert.subject.rfc4514_string()
    complain = report.error if fatal else report.warning
    if now < _not_before(cert):
        complain(field, '%s is not valid yet: valid from %s' % (name, _iso(_not_before(cert))))
    elif now > _not_after(cert):
        days_ago = int((now - _not_after(cert)).total_seconds() // 86400)
        complain(field, '%s expired on %s (%d days ago)' % (name, _iso(_not_after(cert)), days_ago))
    elif warning_days and _days_left(cert, now) < warning_days:
        report.warning(field, '%s expires in %d days, on %s' % (name, _days_left(cert, now), _iso(_not_after(cert))))


def _extended_key_usage(cert):
    try:
        return list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return None


def _check_client_auth(report, cert):
    usages = _extended_key_usage(cert)
    if usages is not None and ExtendedKeyUsageOID.CLIENT_AUTH not in usages and \
            ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in usages:
        report.warning('certificate', 'its extended key usage (%s) does not include clientAuth: a server that checks '
                                      'it will refuse this client certificate' % ', '.join(_eku_names(usages)))


_EKU_NAMES = None


def _eku_names(usages):
    global _EKU_NAMES
    if _EKU_NAMES is None:
        _EKU_NAMES = dict((getattr(ExtendedKeyUsageOID, attr), name) for attr, name in (
            ('SERVER_AUTH', 'serverAuth'), ('CLIENT_AUTH', 'clientAuth'), ('CODE_SIGNING', 'codeSigning'),
            ('EMAIL_PROTECTION', 'emailProtection'), ('TIME_STAMPING', 'timeStamping'), ('OCSP_SIGNING', 'OCSPSigning'),
            ('ANY_EXTENDED_KEY_USAGE', 'anyExtendedKeyUsage')) if hasattr(ExtendedKeyUsageOID, attr))
    return [_EKU_NAMES.get(oid, oid.dotted_string) for oid in usages]


def _spki(public_key):
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _same_public_key(a, b):
    return _spki(a) == _spki(b)


def _signed_by(cert, issuer):
    """Whether `issuer` issued `cert`: names chain and the signature verifies with the issuer's key."""
    if cert.issuer != issuer.subject:
        return False
    verify = getattr(cert, 'verify_directly_issued_by', None)  # cryptography >= 40
    try:
        if verify is not None:
            verify(issuer)
            return True
        public_key = issuer.public_key()
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm)
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
        else:
            public_key.verify(cert.signature, cert.tbs_certificate_bytes)
        return True
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False


def _issuer_in(certs, cas):
    """The CA certificate that issued certs[0], directly or through intermediates sent along in certs[1:]."""
    current, intermediates = certs[0], list(certs[1:])
    for _depth in range(len(intermediates) + 1):
        for ca_cert in cas:
            if _signed_by(current, ca_cert):
                return ca_cert
        step = next((c for c in intermediates if _signed_by(current, c)), None)
        if step is None:
            return None
        intermediates.remove(step)
        current = step
    return None


# ---------------------------------------------------------------------------------------------- facts and output

def _cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode('ascii')


def _fingerprint(cert):
    return ':'.join('%02X' % b for b in bytearray(cert.fingerprint(hashes.SHA256())))


def _short_facts(cert):
    return {'subject': cert.subject.rfc4514_string(), 'fingerprint_sha256': _fingerprint(cert),
            'not_after': _iso(_not_after(cert))}


def _certificate_facts(cert, now):
    usages = _extended_key_usage(cert)
    return {
        'subject': cert.subject.rfc4514_string(),
        'issuer': cert.issuer.rfc4514_string(),
        'serial': '%X' % cert.serial_number,
        'fingerprint_sha256': _fingerprint(cert),
        'not_before': _iso(_not_before(cert)),
        'not_after': _iso(_not_after(cert)),
        'days_left': _days_left(cert, now),
        'extended_key_usage': _eku_names(usages) if usages is not None else None,
    }


def _key_type(key):
    if isinstance(key, rsa.RSAPrivateKey):
        return 'RSA %d' % key.key_size
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return 'EC %s' % key.curve.name
    return type(key).__name__.replace('PrivateKey', '').lstrip('_')
