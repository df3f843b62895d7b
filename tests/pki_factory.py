"""Test certificates made at test time (no fixtures on disk, nothing that expires in the repo).

For any test in the project (PKI checks, mTLS through nginx, the simulators' PKI path)::

    import pki_factory
    ca = pki_factory.CA('Test Root CA')
    client = ca.issue('kibana-client')                       # RSA 2048, clientAuth, valid now
    server = ca.issue('localhost', server=True)              # serverAuth, SAN localhost + 127.0.0.1
    client.cert_pem, client.cert_der, client.key_pem('pkcs1'), client.key_pem('pkcs8', passphrase='pw')
    paths = client.write(tmp_path, key_format='pkcs8')       # {'certificate': …, 'private_key': …, 'ca': …}

Validity is relative to now: ``ca.issue('old', not_before=-30, not_after=-1)`` is expired since
yesterday, ``not_before=+2`` is not valid yet. Keys are cached per type so a test session does
not spend seconds generating RSA keys; ``fresh_key=True`` gives a key no other certificate has.
"""
import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_KEY_POOL = {}


def new_key(key_type='rsa'):
    """A new private key: 'rsa' (2048), 'rsa1024', 'ec' (P-256), 'ed25519'."""
    if key_type == 'rsa':
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if key_type == 'rsa1024':
        return rsa.generate_private_key(public_exponent=65537, key_size=1024)
    if key_type == 'ec':
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == 'ed25519':
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError('unknown key type %r' % key_type)


def pooled_key(key_type='rsa', slot=0):
    """A cached key: the same (key_type, slot) gives the same key within a process."""
    if (key_type, slot) not in _KEY_POOL:
        _KEY_POOL[(key_type, slot)] = new_key(key_type)
    return _KEY_POOL[(key_type, slot)]


def key_pem(key, key_format='pkcs8', passphrase=None):
    """PEM text of a private key: 'pkcs8' (BEGIN PRIVATE KEY / ENCRYPTED PRIVATE KEY), 'pkcs1' (BEGIN RSA
    PRIVATE KEY) or 'sec1' (BEGIN EC PRIVATE KEY); the last two are OpenSSL's 'traditional' format."""
    fmt = serialization.PrivateFormat.PKCS8 if key_format == 'pkcs8' else serialization.PrivateFormat.TraditionalOpenSSL
    enc = serialization.BestAvailableEncryption(passphrase.encode()) if passphrase else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, fmt, enc).decode('ascii')


def key_der(key, key_format='pkcs8', passphrase=None):
    fmt = serialization.PrivateFormat.PKCS8 if key_format == 'pkcs8' else serialization.PrivateFormat.TraditionalOpenSSL
    enc = serialization.BestAvailableEncryption(passphrase.encode()) if passphrase else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.DER, fmt, enc)


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'kibana_gitops tests'),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


class Issued(object):
    """A certificate and its key (plus the CA that issued it, if any)."""

    def __init__(self, cert, key, ca=None):
        self.cert = cert
        self.key = key
        self.ca = ca

    @property
    def cert_pem(self):
        return self.cert.public_bytes(serialization.Encoding.PEM).decode('ascii')

    @property
    def cert_der(self):
        return self.cert.public_bytes(serialization.Encoding.DER)

    def key_pem(self, key_format='pkcs8', passphrase=None):
        return key_pem(self.key, key_format, passphrase)

    def key_der(self, key_format='pkcs8', passphrase=None):
        return key_der(self.key, key_format, passphrase)

    def write(self, directory, prefix=None, key_format='pkcs8', passphrase=None, der=False, with_ca=True):
        """Write certificate, key (and the issuing CA) as files; returns their paths by pki field name."""
        prefix = prefix or self.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        directory = str(directory)
        paths = {}
        if der:
            paths['certificate'] = _write(directory, prefix + '.der', self.cert_der)
            paths['private_key'] = _write(directory, prefix + '-key.der', self.key_der(key_format, passphrase))
        else:
            paths['certificate'] = _write(directory, prefix + '.crt', self.cert_pem)
            paths['private_key'] = _write(directory, prefix + '.key', self.key_pem(key_format, passphrase))
        if with_ca and self.ca is not None:
            paths['ca'] = _write(directory, prefix + '-ca.crt', self.ca.cert_pem)
        return paths


class CA(Issued):
    """A certificate authority (self-signed root, or an intermediate with ``parent``)."""

    def __init__(self, common_name='kibana_gitops Test CA', key_type='ec', parent=None, not_before=-1, not_after=3650):
        key = new_key(key_type)
        builder = (x509.CertificateBuilder()
                   .subject_name(_name(common_name))
                   .issuer_name(parent.cert.subject if parent else _name(common_name))
                   .public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(_now() + datetime.timedelta(days=not_before))
                   .not_valid_after(_now() + datetime.timedelta(days=not_after))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                                crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
        signer = parent.key if parent else key
        cert = builder.sign(signer, _hash_for(signer))
        super(CA, self).__init__(cert, key, parent)

    def intermediate(self, common_name='kibana_gitops Test Intermediate CA'):
        return CA(common_name, parent=self)

    def issue(self, common_name, key=None, key_type='rsa', fresh_key=False, not_before=-1, not_after=365,
              client_auth=True, server=False, eku=None, san=None):
        """Issue a leaf certificate. Validity in days relative to now; `eku`: list of ExtendedKeyUsageOID
        (default clientAuth, or serverAuth with server=True; [] for no EKU extension at all)."""
        if key is None:
            key = new_key(key_type) if fresh_key else pooled_key(key_type)
        if eku is None:
            eku = []
            if client_auth and not server:
                eku.append(ExtendedKeyUsageOID.CLIENT_AUTH)
            if server:
                eku.append(ExtendedKeyUsageOID.SERVER_AUTH)
        builder = (x509.CertificateBuilder()
                   .subject_name(_name(common_name))
                   .issuer_name(self.cert.subject)
                   .public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(_now() + datetime.timedelta(days=not_before))
                   .not_valid_after(_now() + datetime.timedelta(days=not_after))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
        if eku:
            builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
        names = san if san is not None else (['localhost', '127.0.0.1'] if server else [])
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]), critical=False)
        return Issued(builder.sign(self.key, _hash_for(self.key)), key, self)


def _general_name(name):
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _hash_for(key):
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def _write(directory, name, data):
    path = os.path.join(directory, name)
    with open(path, 'wb' if isinstance(data, bytes) else 'w') as f:
        f.write(data)
    return path
