"""Staff forms (English only: staff pages are not translated)."""

from __future__ import annotations

import datetime as dt

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from reporter.domain.vocabulary import (
    CATEGORIES,
    PERPETRATORS,
    PROVINCES,
    SOURCE_TYPES,
    VERIFICATION_LEVELS,
)
from reporter.services import staffing
from reporter.web.auth import ROLES
from reporter.web.i18n import LANGUAGE_NAMES


class Checkboxes(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class LoginForm(FlaskForm):
    login = StringField("Name", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    code = StringField(
        "Code from your authenticator app",
        validators=[Optional(), Regexp(r"^\s*\d{6}\s*$", message="The code is 6 digits.")],
    )


class CodeForm(FlaskForm):
    code = StringField(
        "Code from your authenticator app",
        validators=[DataRequired(), Regexp(r"^\s*\d{6}\s*$", message="The code is 6 digits.")],
    )


class StaffForm(FlaskForm):
    # the rules are reporter/services/staffing.py's; these give the field's own message
    login = StringField(
        "Name",
        validators=[
            DataRequired(),
            Length(min=staffing.LOGIN_MIN, max=staffing.LOGIN_MAX),
            Regexp(staffing.LOGIN_PATTERN, message=staffing.LOGIN_HINT),
        ],
    )
    # an account made here must choose her own password at her first log-in
    # (reporter/verify/password.py): this one only lets her log in that first time
    password = PasswordField(
        "First password (at least 12 characters): she logs in with it once, then chooses her own",
        validators=[
            DataRequired(),
            Length(
                min=staffing.PASSWORD_MIN,
                max=staffing.PASSWORD_MAX,
                message="At least 12 characters.",
            ),
        ],
    )
    roles = Checkboxes(
        "Roles",
        choices=[SelectChoice(r, r) for r in ROLES],
        validators=[DataRequired(message="Choose at least one role.")],
    )
    provinces = Checkboxes(
        "Provinces (for moderators)", choices=[SelectChoice(c, n) for c, n in PROVINCES.items()]
    )


class ContentForm(FlaskForm):
    key = SelectField(
        "Block",
        choices=[
            SelectChoice("safety", "Home: safety advice"),
            SelectChoice("helplines", "Home: helplines"),
            SelectChoice("offices", "Province office contacts"),
        ],
    )
    # each saved text is for one language; "*" for every language without its own text
    lang = SelectField(
        "Language",
        default="en",
        choices=[
            SelectChoice("*", "Every language without its own text"),
            *(SelectChoice(code, f"{name} ({code})") for code, name in LANGUAGE_NAMES.items()),
        ],
    )
    html = TextAreaField(
        "Text (simple HTML: paragraphs, lists, bold, links)",
        validators=[DataRequired(), Length(max=20_000)],
    )


class ReasonForm(FlaskForm):
    reason = TextAreaField(
        "Reason (kept encrypted for staff)", validators=[Optional(), Length(max=2000)]
    )


class DuplicateForm(FlaskForm):
    of = StringField(
        "Reference of the report it duplicates",
        validators=[
            DataRequired(message="Type the reference of the other report (as in the queue)."),
            Regexp(
                r"^\s*[0-9a-fA-F]{6,20}\s*$",
                message="A reference is 6 to 20 characters, "
                "digits and the letters a to f, as the queue shows it.",
            ),
        ],
    )


class PublishForm(FlaskForm):
    categories = Checkboxes(
        "What happened",
        choices=[SelectChoice(t.value, t.label) for t in CATEGORIES],
        validators=[DataRequired(message="Choose at least one.")],
    )
    perpetrators = Checkboxes(
        "Who did it",
        choices=[SelectChoice(t.value, t.label) for t in PERPETRATORS],
        validators=[DataRequired(message="Choose at least one.")],
    )
    month = StringField(
        "Month (YYYY-MM)",
        validators=[DataRequired(), Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", message="Use YYYY-MM.")],
    )
    province = SelectField("Province", choices=[SelectChoice(c, n) for c, n in PROVINCES.items()])
    town = IntegerField("Town (gazetteer id)", validators=[Optional()])
    lat = StringField("Latitude", validators=[Optional(), Length(max=20)])
    lon = StringField("Longitude", validators=[Optional(), Length(max=20)])
    people_affected = IntegerField(
        "People affected", default=1, validators=[DataRequired(), NumberRange(1, 500)]
    )
    verification_level = SelectField(
        "Verification", choices=[SelectChoice(v, v) for v in VERIFICATION_LEVELS]
    )
    source_type = SelectField("Source", choices=[SelectChoice(v, v) for v in SOURCE_TYPES])
    confirm = BooleanField(
        "I checked that nothing here identifies the reporter",
        validators=[DataRequired(message="Please confirm.")],
    )

    def month_date(self) -> dt.date:
        assert self.month.data is not None  # DataRequired and Regexp have passed
        year, month = self.month.data.split("-")
        return dt.date(int(year), int(month), 1)
