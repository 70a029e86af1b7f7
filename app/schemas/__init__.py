"""Request and response schemas, one module per resource.

Validation messages are made short enough to read in a narrow table cell, and the same in the
API's 422 and next to a form's field: before any schema is defined, marshmallow's `Range` and
`Length` are replaced (in `marshmallow.validate`, so every schema gets them and the OpenAPI
document still sees a Range or a Length) by versions that say "Must be 0 to 1000." instead of
"Must be greater than or equal to 0 and less than or equal to 1000." ("Must be at least 1."
when the upper bound is only the column's size), and "Required." for an
empty value where at least one character (or item) is needed.
"""
from marshmallow import ValidationError, validate

STORAGE_BOUND = 2**31 - 1  # PostgreSQL integer


class Range(validate.Range):
    def __init__(self, min=None, max=None, *, min_inclusive=True, max_inclusive=True, error=None):
        super().__init__(min, max, min_inclusive=min_inclusive, max_inclusive=max_inclusive,
                         error=error)
        if min_inclusive:
            self.message_min = "Must be at least {min}."
        if max_inclusive:
            self.message_max = "Must be at most {max}."
        if min is not None and max is not None and min_inclusive and max_inclusive:
            # A bound that is only the column's size (2147483647) is no rule worth reading.
            self.message_all = ("Must be at least {min}." if max >= STORAGE_BOUND
                                else "Must be {min} to {max}.")


class Length(validate.Length):
    def __call__(self, value):
        if self.min and self.equal is None and len(value) == 0:
            raise ValidationError(self.error or "Required.")
        return super().__call__(value)


class PatternUnlessEmpty(validate.Regexp):
    """A Regexp that leaves an empty value to the Length beside it (which says "Required.")."""

    def __call__(self, value):
        return value if value == "" else super().__call__(value)


if not issubclass(validate.Range, Range):
    validate.Range = Range
    validate.Length = Length
