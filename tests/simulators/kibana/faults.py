"""Injected faults for resilience tests of the client (``--faults SPEC``).

SPEC is ``rate=0.2,kinds=429+503+reset+lost+slow,seed=7,slow_ms=1500,retry_after=1``: with probability
``rate`` a request to ``/api/`` (not ``/api/status``, never ``/_sim/``) gets one fault drawn from
``kinds`` with a seeded RNG, so the same request sequence gets the same faults on every run.
This is not Kibana behaviour; it stands in for proxies, restarts and overload in front of it.
"""
import random
import threading

KINDS = ('429', '503', 'reset', 'lost', 'slow')


class FaultSpecError(ValueError):
    pass


class FaultPlan(object):
    def __init__(self, spec=None):
        self.rate = 0.0
        self.kinds = list(KINDS)
        self.seed = 0
        self.slow_ms = 1000
        self.retry_after = 1
        if spec:
            self._parse(spec)
        self.rng = random.Random(self.seed)
        self.lock = threading.Lock()

    def _parse(self, spec):
        for part in spec.split(','):
            if not part.strip():
                continue
            key, sep, value = part.partition('=')
            key, value = key.strip(), value.strip()
            if not sep:
                raise FaultSpecError('fault spec item %r is not key=value' % part)
            try:
                if key == 'rate':
                    self.rate = float(value)
                    if not 0.0 <= self.rate <= 1.0:
                        raise FaultSpecError('rate must be between 0 and 1')
                elif key == 'kinds':
                    kinds = [k for k in value.split('+') if k]
                    unknown = [k for k in kinds if k not in KINDS]
                    if unknown or not kinds:
                        raise FaultSpecError('unknown fault kinds %s (known: %s)' % (unknown, '+'.join(KINDS)))
                    self.kinds = kinds
                elif key == 'seed':
                    self.seed = int(value)
                elif key == 'slow_ms':
                    self.slow_ms = int(value)
                elif key == 'retry_after':
                    self.retry_after = int(value)
                else:
                    raise FaultSpecError('unknown fault spec key %r' % key)
            except ValueError as e:
                if isinstance(e, FaultSpecError):
                    raise
                raise FaultSpecError('bad value for %s: %r' % (key, value))

    @property
    def active(self):
        return self.rate > 0

    def pick(self, is_write):
        """The fault for the next eligible request, or None. ``lost`` on a read becomes ``reset``."""
        if not self.active:
            return None
        with self.lock:
            if self.rng.random() >= self.rate:
                return None
            kind = self.rng.choice(self.kinds)
        if kind == 'lost' and not is_write:
            return 'reset'
        return kind
