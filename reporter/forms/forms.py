"""The report form (no-JavaScript path) and the receipt log-in form."""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    MultipleFileField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    ValidationError,
    widgets,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from reporter.domain import gazetteer
from reporter.domain.vocabulary import (
    CATEGORIES,
    MONTH_NAMES,
    PERPETRATORS,
    PROVINCE_LABELS,
    PROVINCES,
)

NARRATIVE_MAX = 20_000
DETAILS_MAX = 2_000
PLACE_MAX = 200
MIN_TOWN_POPULATION = 20_000

# no month is chosen for her (a default of January would be saved unnoticed); 0 is "I don't
# remember", sealed as month null
MONTH_UNKNOWN = 0
MONTHS = [
    SelectChoice("", _l("Choose the month")),
    *(SelectChoice(i, name) for i, name in enumerate(MONTH_NAMES, start=1)),
    SelectChoice(MONTH_UNKNOWN, _l("I don't remember")),
]


def _month(value: object) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(str(value))
    except ValueError:
        return -1  # not a choice: refused with the list's message


class CheckboxList(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def town_choices() -> list[SelectChoice]:
    """Towns grouped by province, only the larger ones (page weight on 2G); others are typed."""
    # the group label is the province as the form shows it (report.js compares the two)
    return [
        SelectChoice(t.id, t.name, optgroup=str(PROVINCE_LABELS[code]))
        for code in PROVINCES
        for t in gazetteer.towns_in(code)
        if t.population >= MIN_TOWN_POPULATION
    ]


def year_choices(today: dt.date) -> list[SelectChoice]:
    return [SelectChoice(y, str(y)) for y in range(today.year, today.year - 6, -1)]


def _town_id(value: object) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(str(value))
    except ValueError:
        return -1  # refused by validate_town with a clear message


def _day_of_month(form: object, field: IntegerField) -> None:
    if field.data is not None and not 1 <= field.data <= 31:
        raise ValidationError(_l("A day is a number from 1 to 31."))


# SelectChoice and the invalid_*_message arguments are WTForms 3.3; types-WTForms is still 3.2
class ReportForm(FlaskForm):
    categories = CheckboxList(  # type: ignore[call-arg]
        _l("What happened? Tick all that apply."),
        choices=[SelectChoice(t.value, t.label) for t in CATEGORIES],
        validators=[DataRequired(message=_l("Tick at least one thing that happened."))],
        invalid_choice_message=_l("Tick only things from the list."),
        invalid_value_message=_l("Tick only things from the list."),
    )
    perpetrators = CheckboxList(  # type: ignore[call-arg]
        _l("Who did it? Tick all that apply."),
        choices=[SelectChoice(t.value, t.label) for t in PERPETRATORS],
        validators=[DataRequired(message=_l("Tick who did it, or “I don't know”."))],
        invalid_choice_message=_l("Tick only things from the list."),
        invalid_value_message=_l("Tick only things from the list."),
    )
    # every message a reporter can see is ours (so it is in the catalogs), none is WTForms' own
    year = SelectField(
        _l("Year"),
        coerce=int,  # type: ignore[call-arg]
        validators=[InputRequired(message=_l("Choose a year."))],
        invalid_choice_message=_l("Choose a year from the list."),
        invalid_value_message=_l("Choose a year from the list."),
    )
    month = SelectField(
        _l("Month"),
        coerce=_month,
        choices=MONTHS,  # type: ignore[call-arg]
        validators=[InputRequired(message=_l("Choose the month, or “I don't remember”."))],
        invalid_choice_message=_l("Choose a month from the list."),
        invalid_value_message=_l("Choose a month from the list."),
    )
    # not NumberRange: its math.isnan() raises OverflowError on a 30-digit "day"
    day = IntegerField(
        _l("Day (if you know it)"),  # type: ignore[call-arg]
        validators=[Optional(), _day_of_month],
        invalid_value_message=_l("A day is a number from 1 to 31."),
    )
    province = SelectField(  # type: ignore[call-arg]
        _l("Province"),
        choices=[SelectChoice("", _l("Choose a province"))]
        + [SelectChoice(c, n) for c, n in PROVINCE_LABELS.items()],
        validators=[DataRequired(message=_l("Choose the province where it happened."))],
        invalid_choice_message=_l("Choose the province where it happened."),
    )
    town = SelectField(
        _l("Nearest town"),
        coerce=_town_id,  # type: ignore[call-arg]
        validators=[Optional()],
        invalid_choice_message=_l("Choose a town from the list, or type the place."),
    )
    place = StringField(
        _l("Or type the place"),
        validators=[Optional(), Length(max=PLACE_MAX, message=_l("Please keep the place short."))],
    )
    narrative = TextAreaField(
        _l("What happened? Tell us in your own words."),
        validators=[
            DataRequired(message=_l("Please tell us what happened, even in a few words.")),
            Length(max=NARRATIVE_MAX, message=_l("This is too long. Please shorten it.")),
        ],
    )
    perpetrator_details = TextAreaField(
        _l("Anything about who did it (badge number, car registration, what they looked like)"),
        validators=[
            Optional(),
            Length(max=DETAILS_MAX, message=_l("This is too long. Please shorten it.")),
        ],
    )
    consent_contact = BooleanField(
        _l("Sisonke may send me messages in my receipt inbox."), default=True
    )
    consent_legal = BooleanField(
        _l("The Women's Legal Centre may see this report to help with a case.")
    )
    attachments = MultipleFileField(_l("Photos, documents or voice notes (up to 3)"))
    # unticked: photos lose their hidden details (place, time, phone) before sealing
    keep_original = BooleanField(_l("Keep the original file"), default=False)
    # honeypot: hidden from people by CSS, filled only by bots
    website = StringField(_l("Leave this empty"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.year.choices = year_choices(dt.date.today())
        self.town.choices = [SelectChoice("", _l("Choose a town")), *town_choices()]

    def validate_town(self, field: SelectField) -> None:
        if field.data is None:
            return
        town = gazetteer.lookup(field.data)
        if town is None:
            raise ValidationError(_l("Choose a town from the list, or type the place."))
        if self.province.data and town.province != self.province.data:
            raise ValidationError(_l("This town is not in the province you chose."))

    def validate_day(self, field: IntegerField) -> None:
        if field.data is None or not isinstance(self.year.data, int):
            return
        if not self.month.data:
            raise ValidationError(_l("Choose the month too, or leave the day empty."))
        try:
            when = dt.date(self.year.data, self.month.data, field.data)
        except (TypeError, ValueError, OverflowError) as exc:  # OverflowError: day=10**20
            raise ValidationError(_l("This date does not exist.")) from exc
        if when > dt.date.today():
            raise ValidationError(_l("This date is in the future."))

    def validate_month(self, field: SelectField) -> None:
        if field.data is None:
            raise ValidationError(_l("Choose the month, or “I don't remember”."))
        if isinstance(self.year.data, int) and isinstance(field.data, int) and field.data:
            today = dt.date.today()
            if (self.year.data, field.data) > (today.year, today.month):
                raise ValidationError(_l("This month is in the future."))

    def validate_website(self, field: StringField) -> None:
        if field.data:
            raise ValidationError(_l("Please leave the last field empty and send again."))


class ReceiptForm(FlaskForm):
    receipt = StringField(
        _l("Your receipt number"),
        validators=[
            DataRequired(message=_l("Type your 16-digit receipt number.")),
            Length(max=40, message=_l("A receipt is 16 digits.")),
        ],
    )


class ReplyForm(FlaskForm):
    message = TextAreaField(
        _l("Your answer"),
        validators=[
            DataRequired(message=_l("Please write something before sending.")),
            Length(max=NARRATIVE_MAX, message=_l("This is too long. Please shorten it.")),
        ],
    )
