"""A small model of ``@kbn/config-schema``: just enough to produce Kibana's CS-era texts (reference §0).

Semantics kept on purpose, because the texts depend on them:
* objects validate their declared keys in declaration order, then reject unknown keys
  (``[foo]: definition for this key is missing``); the first error wins (Joi ``abortEarly``);
* ``one_of`` tries every branch and, if all fail, reports each branch's first error under
  ``types that failed validation:`` with the branch index in the path (``[0.apiProvider]``,
  ``[method.1]``);
* ``maybe(T)`` allows a missing key but not ``null``; ``nullable(T)`` is ``one_of([T, literal(None)])``
  with default ``None``;
* defaults fill missing keys only; numbers and booleans accept their string forms (Joi ``convert``).
"""
import copy

MISSING = object()  # JavaScript's undefined: a key that is absent


class SchemaError(Exception):
    """A validation failure at a path; str() gives config-schema's ``[a.b]: message`` form."""

    def __init__(self, message, path=()):
        super(SchemaError, self).__init__(message)
        self.message = message
        self.path = list(path)

    def __str__(self):
        if self.path:
            return '[%s]: %s' % ('.'.join(str(p) for p in self.path), self.message)
        return self.message


def type_detect(value):
    """The `type-detect` names config-schema puts in its messages."""
    if value is MISSING:
        return 'undefined'
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'boolean'
    if isinstance(value, (int, float)):
        return 'number'
    if isinstance(value, str):
        return 'string'
    if isinstance(value, list):
        return 'Array'
    if isinstance(value, dict):
        return 'Object'
    return type(value).__name__


class Type(object):
    type_name = 'any'

    def __init__(self, default=MISSING, validate=None):
        self.default = default
        self.custom = validate  # fn(value) -> error text or None (config-schema's `validate` option)

    def validate(self, value, path=()):
        if value is MISSING:
            if self.default is not MISSING:
                return copy.deepcopy(self.default)
            raise SchemaError(self.required_message(), path)
        result = self.check(value, list(path))
        if self.custom is not None:
            message = self.custom(result)
            if message:
                raise SchemaError(message, path)
        return result

    def required_message(self):
        return 'expected value of type [%s] but got [undefined]' % self.type_name

    def wrong_type(self, value, path):
        return SchemaError('expected value of type [%s] but got [%s]' % (self.type_name, type_detect(value)), path)

    def check(self, value, path):
        return value


class Any(Type):
    pass


class String(Type):
    type_name = 'string'

    def __init__(self, min_length=None, **kw):
        super(String, self).__init__(**kw)
        self.min_length = min_length

    def check(self, value, path):
        if not isinstance(value, str):
            raise self.wrong_type(value, path)
        if self.min_length is not None and len(value) < self.min_length:
            raise SchemaError('value has length [%d] but it must have a minimum length of [%d].'
                              % (len(value), self.min_length), path)
        return value


class Number(Type):
    type_name = 'number'

    def __init__(self, minimum=None, maximum=None, **kw):
        super(Number, self).__init__(**kw)
        self.minimum, self.maximum = minimum, maximum

    def check(self, value, path):
        if isinstance(value, str):  # Joi converts numeric strings
            try:
                value = float(value.strip()) if value.strip() else None
            except ValueError:
                value = None
            if value is None:
                raise SchemaError('expected value of type [number] but got [string]', path)
            if value == int(value):
                value = int(value)
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.wrong_type(value, path)
        if self.minimum is not None and value < self.minimum:
            raise SchemaError('Value must be equal to or greater than [%s].' % self.minimum, path)
        if self.maximum is not None and value > self.maximum:
            raise SchemaError('Value must be equal to or lower than [%s].' % self.maximum, path)
        return value


class Boolean(Type):
    type_name = 'boolean'

    def check(self, value, path):
        if isinstance(value, str) and value.lower() in ('true', 'false'):  # Joi convert
            return value.lower() == 'true'
        if not isinstance(value, bool):
            raise self.wrong_type(value, path)
        return value


class Literal(Type):
    def __init__(self, expected, **kw):
        super(Literal, self).__init__(**kw)
        self.expected = expected

    def required_message(self):
        # Asserted in openai.ts: a missing literal says "at least one defined value" (§4.1).
        return 'expected at least one defined value but got [undefined]'

    def check(self, value, path):
        if value != self.expected or type(value) is not type(self.expected):
            shown = 'null' if self.expected is None else self.expected
            raise SchemaError('expected value to equal [%s]' % shown, path)
        return value


class OneOf(Type):
    def __init__(self, types, **kw):
        super(OneOf, self).__init__(**kw)
        self.types = types

    def required_message(self):
        return 'expected at least one defined value but got [undefined]'

    def check(self, value, path):
        failures = []
        for i, t in enumerate(self.types):
            try:
                return t.validate(value, path + [i])
            except SchemaError as e:
                failures.append(e)
        raise SchemaError('types that failed validation:\n' + '\n'.join('- %s' % f for f in failures), path)


class Object(Type):
    type_name = 'object'

    def __init__(self, props, **kw):
        super(Object, self).__init__(**kw)
        self.props = props  # dict in declaration order

    def check(self, value, path):
        if not isinstance(value, dict):
            raise SchemaError('expected a plain object value, but found [%s] instead.' % type_detect(value), path)
        out = {}
        for key, t in self.props.items():
            v = t.validate(value.get(key, MISSING), path + [key])
            if v is not MISSING:
                out[key] = v
        for key in value:
            if key not in self.props:
                raise SchemaError('definition for this key is missing', path + [key])
        return out


class Record(Type):
    type_name = 'object'

    def __init__(self, value_type, **kw):
        super(Record, self).__init__(**kw)
        self.value_type = value_type

    def check(self, value, path):
        if not isinstance(value, dict):
            raise self.wrong_type(value, path)
        return dict((k, self.value_type.validate(v, path + [k])) for k, v in value.items())


class Array(Type):
    type_name = 'array'

    def __init__(self, item_type, max_size=None, **kw):
        super(Array, self).__init__(**kw)
        self.item_type, self.max_size = item_type, max_size

    def check(self, value, path):
        if not isinstance(value, list):
            raise self.wrong_type(value, path)
        if self.max_size is not None and len(value) > self.max_size:
            raise SchemaError('array size is [%d], but cannot be greater than [%d]' % (len(value), self.max_size), path)
        return [self.item_type.validate(v, path + [i]) for i, v in enumerate(value)]


class Maybe(Type):
    """schema.maybe: the key may be absent (the inner default is ignored); null is still checked."""

    def __init__(self, inner):
        super(Maybe, self).__init__()
        self.inner = inner

    def validate(self, value, path=()):
        if value is MISSING:
            return MISSING
        return self.inner.validate(value, path)


# Short constructors that read like Kibana's schema files.
def string(**kw):
    return String(**kw)


def number(**kw):
    return Number(**kw)


def boolean(**kw):
    return Boolean(**kw)


def literal(v, **kw):
    return Literal(v, **kw)


def one_of(types, **kw):
    return OneOf(types, **kw)


def enum(values, **kw):
    """schema.oneOf([schema.literal(a), schema.literal(b), …])."""
    return OneOf([Literal(v) for v in values], **kw)


def obj(props, **kw):
    return Object(props, **kw)


def record(value_type, **kw):
    return Record(value_type, **kw)


def array(item_type, **kw):
    return Array(item_type, **kw)


def maybe(inner):
    return Maybe(inner)


def nullable(inner):
    return OneOf([inner, Literal(None)], default=None)


def any_value(**kw):
    return Any(**kw)
