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

The same schema objects also validate the way Kibana's zod schemas do from 9.3 on (``zparse``, reference
§0): every issue is collected (no abort-early), objects are strict, unions follow zod v3 or v4 rules
(``Ctx.era``); the issues are turned into text by zod_texts.py.
"""
import copy
import math
import re

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


class Issue(object):
    """One zod issue: ``code`` (invalid_type, invalid_value, unrecognized_keys, too_small, too_big,
    invalid_format, invalid_union, custom), the path (keys and indexes) and the details the messages need."""

    def __init__(self, code, path, **info):
        self.code = code
        self.path = list(path)
        self.info = info

    @property
    def aborts(self):
        """zod v4: an issue without ``continue`` aborts its branch (checks such as min/max continue)."""
        return self.code not in ('too_small', 'too_big', 'invalid_format', 'custom')

    @property
    def dirty_only(self):
        """zod v3: issues that leave a parse "dirty" rather than INVALID (checks, refinements, unknown keys)."""
        return self.code in ('too_small', 'too_big', 'invalid_format', 'custom', 'unrecognized_keys')


class Ctx(object):
    """A zod parse: the era ('Z3' or 'Z4') and the issues found so far."""

    def __init__(self, era):
        self.era = era
        self.issues = []

    def add(self, code, path, **info):
        self.issues.append(Issue(code, path, **info))


def zod_type(value):
    """zod's parsed-type names (v3 getParsedType; v4 says 'NaN' where v3 says 'nan')."""
    if isinstance(value, float) and math.isnan(value):
        return 'nan'
    name = type_detect(value)
    return {'Array': 'array', 'Object': 'object'}.get(name, name)


def zparse(schema, value, era):
    """Validate like Kibana's zod schema; returns (value, [Issue])."""
    ctx = Ctx(era)
    result = schema.zparse(value, [], ctx)
    return result, ctx.issues


class Type(object):
    type_name = 'any'
    zod_name = 'any'

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

    # --- zod mode ---
    def zparse(self, value, path, ctx):
        if value is MISSING:
            if self.default is not MISSING:
                return copy.deepcopy(self.default)
            return self.zmissing(path, ctx)
        before = len(ctx.issues)
        result = self.zcheck(value, list(path), ctx)
        if self.custom is not None and len(ctx.issues) == before:
            message = self.custom(result)
            if message:
                ctx.add('custom', path, message=message)
        return result

    def zmissing(self, path, ctx):
        ctx.add('invalid_type', path, expected=self.zod_name, received='undefined')
        return MISSING

    def zcheck(self, value, path, ctx):
        return value


class Any(Type):
    def zmissing(self, path, ctx):
        return MISSING  # z.any() accepts undefined


class String(Type):
    type_name = 'string'
    zod_name = 'string'

    def __init__(self, min_length=None, zod_format=None, **kw):
        super(String, self).__init__(**kw)
        self.min_length = min_length
        self.zod_format = zod_format  # (name, fn(value) -> bool): a zod-only check such as .url()

    def check(self, value, path):
        if not isinstance(value, str):
            raise self.wrong_type(value, path)
        if self.min_length is not None and len(value) < self.min_length:
            raise SchemaError('value has length [%d] but it must have a minimum length of [%d].'
                              % (len(value), self.min_length), path)
        return value

    def zcheck(self, value, path, ctx):
        if not isinstance(value, str):
            ctx.add('invalid_type', path, expected='string', received=zod_type(value))
            return value
        if self.min_length is not None and len(value) < self.min_length:
            ctx.add('too_small', path, origin='string', minimum=self.min_length)
        if self.zod_format is not None and not self.zod_format[1](value):
            ctx.add('invalid_format', path, format=self.zod_format[0])
        return value


def js_number(value):
    """JavaScript's Number(value), as z.coerce.number() applies it (NaN when it does not convert)."""
    if isinstance(value, bool):
        return 1 if value else 0
    if value is None:
        return 0
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return 0
        try:
            number = float(int(text, 0)) if re.match(r'^0[xob]', text, re.I) else float(text)
        except ValueError:
            return float('nan')
        return int(number) if number == int(number) and abs(number) < 2 ** 53 else number
    if isinstance(value, list) and len(value) <= 1:
        return js_number(value[0]) if value else 0
    return float('nan')


class Number(Type):
    type_name = 'number'
    zod_name = 'number'

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

    def zcheck(self, value, path, ctx):
        # Kibana's zod connector schemas use z.coerce.number() for their numbers (reference §4.1).
        number = js_number(value)
        if isinstance(number, float) and math.isnan(number):
            ctx.add('invalid_type', path, expected='number', received='nan')
            return value
        if self.minimum is not None and number < self.minimum:
            ctx.add('too_small', path, origin='number', minimum=self.minimum)
        if self.maximum is not None and number > self.maximum:
            ctx.add('too_big', path, origin='number', maximum=self.maximum)
        return number


class Boolean(Type):
    type_name = 'boolean'
    zod_name = 'boolean'

    def zcheck(self, value, path, ctx):
        if not isinstance(value, bool):  # z.boolean() does not convert strings
            ctx.add('invalid_type', path, expected='boolean', received=zod_type(value))
        return value

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

    # zod mode: Kibana's zod schemas write these one-value literals as z.enum([value]).
    def zmissing(self, path, ctx):
        return self.zcheck(MISSING, path, ctx)

    def zcheck(self, value, path, ctx):
        return enum_check([self.expected], value, path, ctx)


def enum_check(values, value, path, ctx):
    """z.enum(values): v3 says invalid_type for a non-string (Required when missing), then
    invalid_enum_value; v4 says invalid_value for anything not in the list."""
    if value is not MISSING and value in values and all(type(value) is type(v) for v in values if v == value):
        return value
    if ctx.era == 'Z3' and (value is MISSING or not isinstance(value, str)):
        ctx.add('invalid_type', path, expected=' | '.join("'%s'" % v for v in values),
                received='undefined' if value is MISSING else zod_type(value))
    else:
        ctx.add('invalid_value', path, values=list(values), received=value)
    return MISSING if value is MISSING else value


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

    def zcheck(self, value, path, ctx):
        """z.union: the first branch without issues wins. Otherwise zod v3 returns the first "dirty"
        branch's issues, else one invalid_union carrying every branch's issues; zod v4 returns the only
        branch without aborting issues, if there is exactly one, else invalid_union ("Invalid input")."""
        results = []
        for t in self.types:
            sub = Ctx(ctx.era)
            out = t.zparse(value, path, sub)
            if not sub.issues:
                return out
            results.append((out, sub.issues))
        if ctx.era == 'Z3':
            for out, issues in results:
                if all(i.dirty_only for i in issues):
                    ctx.issues.extend(issues)
                    return out
        else:
            alive = [result for result in results if not any(i.aborts for i in result[1])]
            if len(alive) == 1:
                ctx.issues.extend(alive[0][1])
                return alive[0][0]
        ctx.add('invalid_union', path, union_errors=[result[1] for result in results])
        return value

    def zmissing(self, path, ctx):
        return self.zcheck(MISSING, path, ctx)


class Enum(OneOf):
    """schema.oneOf of literals in config-schema; z.enum in zod."""

    def __init__(self, values, **kw):
        super(Enum, self).__init__([Literal(v) for v in values], **kw)
        self.values = list(values)

    def zmissing(self, path, ctx):
        return enum_check(self.values, MISSING, path, ctx)

    def zcheck(self, value, path, ctx):
        return enum_check(self.values, value, path, ctx)


class Nullable(OneOf):
    """schema.nullable(T) = oneOf([T, literal(null)]) with default null; zod: T.nullable().default(null)."""

    def __init__(self, inner):
        super(Nullable, self).__init__([inner, Literal(None)], default=None)
        self.inner = inner

    def zcheck(self, value, path, ctx):
        return None if value is None else self.inner.zparse(value, path, ctx)


class Object(Type):
    type_name = 'object'
    zod_name = 'object'

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

    def zcheck(self, value, path, ctx):
        """z.object(...).strict(): every field's issues, then one unrecognized_keys issue."""
        if not isinstance(value, dict):
            ctx.add('invalid_type', path, expected='object', received=zod_type(value))
            return value
        out = {}
        for key, t in self.props.items():
            v = t.zparse(value.get(key, MISSING), path + [key], ctx)
            if v is not MISSING:
                out[key] = v
        unknown = [key for key in value if key not in self.props]
        if unknown:
            ctx.add('unrecognized_keys', path, keys=unknown)
        return out


class Record(Type):
    type_name = 'object'
    zod_name = 'record'

    def __init__(self, value_type, **kw):
        super(Record, self).__init__(**kw)
        self.value_type = value_type

    def check(self, value, path):
        if not isinstance(value, dict):
            raise self.wrong_type(value, path)
        return dict((k, self.value_type.validate(v, path + [k])) for k, v in value.items())

    def zcheck(self, value, path, ctx):
        if not isinstance(value, dict):
            ctx.add('invalid_type', path, expected='record' if ctx.era == 'Z4' else 'object', received=zod_type(value))
            return value
        return dict((k, self.value_type.zparse(v, path + [k], ctx)) for k, v in value.items())


class Array(Type):
    type_name = 'array'
    zod_name = 'array'

    def __init__(self, item_type, max_size=None, **kw):
        super(Array, self).__init__(**kw)
        self.item_type, self.max_size = item_type, max_size

    def check(self, value, path):
        if not isinstance(value, list):
            raise self.wrong_type(value, path)
        if self.max_size is not None and len(value) > self.max_size:
            raise SchemaError('array size is [%d], but cannot be greater than [%d]' % (len(value), self.max_size), path)
        return [self.item_type.validate(v, path + [i]) for i, v in enumerate(value)]

    def zcheck(self, value, path, ctx):
        if not isinstance(value, list):
            ctx.add('invalid_type', path, expected='array', received=zod_type(value))
            return value
        result = [self.item_type.zparse(v, path + [i], ctx) for i, v in enumerate(value)]
        if self.max_size is not None and len(value) > self.max_size:
            ctx.add('too_big', path, origin='array', maximum=self.max_size)
        return result


class Maybe(Type):
    """schema.maybe: the key may be absent (the inner default is ignored); null is still checked."""

    def __init__(self, inner):
        super(Maybe, self).__init__()
        self.inner = inner

    def validate(self, value, path=()):
        if value is MISSING:
            return MISSING
        return self.inner.validate(value, path)

    def zparse(self, value, path, ctx):
        # .optional(): a missing key stays missing, except that zod v4 applies an inner .default()
        # (versions.FACTS['optional_default_applied']).
        if value is MISSING:
            if ctx.era == 'Z4' and self.inner.default is not MISSING:
                return copy.deepcopy(self.inner.default)
            return MISSING
        return self.inner.zparse(value, path, ctx)


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
    """schema.oneOf([schema.literal(a), schema.literal(b), …]); z.enum([...]) in zod mode."""
    return Enum(values, **kw)


def obj(props, **kw):
    return Object(props, **kw)


def record(value_type, **kw):
    return Record(value_type, **kw)


def array(item_type, **kw):
    return Array(item_type, **kw)


def maybe(inner):
    return Maybe(inner)


def nullable(inner):
    return Nullable(inner)


def any_value(**kw):
    return Any(**kw)
