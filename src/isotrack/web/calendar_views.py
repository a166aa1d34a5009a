"""Calendar pages, feed management, the reminder outbox and the feeds themselves. Thin views: parse, check
access, call one read or action, render. The plan comes from the core through clinic.calendar."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_safe

from isotrack.clinic import calendar as clinic_calendar
from isotrack.clinic import looks
from isotrack.clinic.access import Capability, StaffRequest, access_course, can, practice_of
from isotrack.clinic.errors import InvalidInput, RecordNotFound
from isotrack.clinic.queries import practice_today
from isotrack.notify import actions as notify_actions
from isotrack.notify import feeds
from isotrack.notify.models import FeedScope
from isotrack.notify.reminders import outbox_of
from isotrack.web.forms import TextField
from isotrack.web.views import _form_with_error, save_once, write_view

MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


ANCHOR_YEARS = 100  # a date further from today than this is no calendar's: today's month instead


def _anchor(request: HttpRequest, today: date) -> date:
    try:
        found = date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        return today
    return found if abs(found.year - today.year) <= ANCHOR_YEARS else today


def _month_nav(anchor: date) -> dict[str, object]:
    first = anchor.replace(day=1)
    return {
        "title": f"{MONTH_NAMES[first.month - 1]} {first.year}",
        "previous": (first - timedelta(days=1)).replace(day=1),
        "following": (first + timedelta(days=32)).replace(day=1),
    }


VIEWS = ("month", "week", "day", "overdue")


@require_GET
def practice_calendar(request: StaffRequest) -> HttpResponse:
    """The practice's (or one prescriber's) month, week or day, or its overdue events: the stored plans of
    the days shown with the core's status of each event on today (staff-only events included); a dense day
    shows its first events and how many more, listed on the day's page. The Overdue box: exactly the events
    the core calls overdue, the first of them and their count."""
    practice = practice_of(request.user)
    today = clinic_calendar.refresh(practice)
    anchor = _anchor(request, today)
    view = request.GET.get("view", "month")
    view = view if view in VIEWS else "month"
    prescriber = None
    if request.GET.get("prescriber"):
        prescriber = clinic_calendar.find_prescriber(practice, request.GET["prescriber"])
        if prescriber is None:
            raise RecordNotFound("No such prescriber.")
    after, before = request.GET.get("after", ""), request.GET.get("before", "")
    query = {"view": view, "date": anchor.isoformat()} | (
        {"prescriber": str(prescriber.uuid)} if prescriber else {}
    )
    context: dict[str, object] = {
        "view": view,
        "today": today,
        "anchor": anchor,
        "prescriber": prescriber,
        "prescribers": clinic_calendar.prescribers_of(practice),
        "overdue_count": clinic_calendar.overdue_count(practice, today, prescriber=prescriber),
        "legend": clinic_calendar.legend(),
        "page_link": f"?{urlencode(query)}",  # a day's or the overdue list's first page
    }
    if view != "overdue":
        context["overdue"] = clinic_calendar.overdue_page(
            practice, today, prescriber=prescriber, size=clinic_calendar.OVERDUE_SHOWN
        ).entries
    if view == "week":
        monday = anchor - timedelta(days=anchor.weekday())
        days = clinic_calendar.days_between(
            practice,
            today,
            monday,
            monday + timedelta(days=6),
            prescriber=prescriber,
            per_day=clinic_calendar.WEEK_DAY_EVENTS,
        )
        context |= {
            "title": f"Week of {monday.isoformat()}",
            "days": clinic_calendar.week_days(monday, days, today),
            "previous": monday - timedelta(days=7),
            "following": monday + timedelta(days=7),
        }
    elif view == "day":
        page = clinic_calendar.day_page(
            practice,
            today,
            anchor,
            prescriber=prescriber,
            after=after,
            before=before,
            size=clinic_calendar.PAGE_SIZE,
        )
        context |= {
            "title": f"{anchor:%A} {anchor.isoformat()}",
            "page": page,
            "previous": anchor - timedelta(days=1),
            "following": anchor + timedelta(days=1),
        }
    elif view == "overdue":
        page = clinic_calendar.overdue_page(
            practice,
            today,
            prescriber=prescriber,
            after=after,
            before=before,
            size=clinic_calendar.PAGE_SIZE,
        )
        context |= {"title": "Overdue", "page": page}
    else:
        grid = clinic_calendar.month_grid(anchor.year, anchor.month)
        days = clinic_calendar.days_between(
            practice,
            today,
            grid[0][0],
            grid[-1][-1],
            prescriber=prescriber,
            per_day=clinic_calendar.MONTH_DAY_EVENTS,
        )
        context |= _month_nav(anchor)
        context["weeks"] = clinic_calendar.month_weeks(anchor.year, anchor.month, days, today)
    return render(request, "web/calendar/practice.html", context)


@require_GET
def course_calendar(request: StaffRequest, course_id: str) -> HttpResponse:
    """One course: every planned event as a list, and the month grid (computed afresh: one course)."""
    course = access_course(request.user, course_id)
    today = practice_today(course.patient.practice)
    anchor = _anchor(request, today)
    found = clinic_calendar.entries([course], today)
    context = {
        "course": course,
        "patient": course.patient,
        "entries": found,
        "today": today,
        "legend": clinic_calendar.legend(),
        "weeks": clinic_calendar.course_month_weeks(anchor.year, anchor.month, found, today),
        **_month_nav(anchor),
    }
    return render(request, "web/calendar/course.html", context)


# ------------------------------------------------------------------------------------------ feed tokens


class FeedForm(forms.Form):
    scope = forms.ChoiceField(label="Feed of", choices=FeedScope.choices)
    mrn = TextField(label="Patient's MRN (for a patient's feed)", required=False, max_length=40)
    prescriber = forms.ChoiceField(label="Prescriber (for a prescriber's feed)", required=False)

    def __init__(self, *args: object, prescribers: object = (), **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["prescriber"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (str(p.uuid), p.display_name)
            for p in prescribers  # type: ignore[attr-defined]
        ]


def _feed_url(request: HttpRequest, secret: str) -> str:
    return request.build_absolute_uri(reverse("calendar_feed", kwargs={"token": secret}))


def _feed_created(request: HttpRequest, issued: notify_actions.IssuedToken) -> HttpResponse:
    """The only time the URL is shown: it is in no table."""
    label = feeds.subjects([issued.feed])[0][1]
    response = render(
        request,
        "web/calendar/feed_created.html",
        {"feed": issued.feed, "label": label, "url": _feed_url(request, issued.secret)},
    )
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def feed_list(request: StaffRequest) -> HttpResponse:
    practice = practice_of(request.user)
    found = feeds.feeds_of(practice.pk)
    return render(
        request,
        "web/calendar/feeds.html",
        {
            "active": feeds.subjects(found.filter(revoked_at__isnull=True)),
            "revoked": feeds.subjects(found.filter(revoked_at__isnull=False)[:50]),
            "can_manage": can(request.user, Capability.REGISTER_PATIENTS),
            "now": timezone.now(),
        },
    )


@write_view(Capability.REGISTER_PATIENTS)
def feed_new(request: StaffRequest) -> HttpResponse:
    practice = practice_of(request.user)
    prescribers = clinic_calendar.prescribers_of(practice)
    form = FeedForm(request.POST or None, prescribers=prescribers)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        patient = clinic_calendar.patient_by_mrn(practice, data["mrn"])
        prescriber = (
            clinic_calendar.find_prescriber(practice, data["prescriber"]) if data["prescriber"] else None
        )

        def save() -> HttpResponse:
            issued = notify_actions.create_feed_token(
                actor=request.user, scope=data["scope"], patient=patient, prescriber=prescriber
            )
            return _feed_created(request, issued)

        try:  # once per form: a reload of the page that shows the URL must not create a second feed
            return save_once(request, save, replay=lambda: redirect("calendar_feeds"))
        except InvalidInput as error:
            _form_with_error(form, error)
    return render(request, "web/calendar/feed_new.html", {"form": form}, status=422 if form.errors else 200)


@write_view(Capability.REGISTER_PATIENTS)
def feed_revoke(request: StaffRequest) -> HttpResponse:
    if request.method == "POST":
        feed = feeds.access_feed(request.user.practice_id, request.POST.get("feed", ""))
        notify_actions.revoke_feed_token(actor=request.user, feed=feed)
    return redirect("calendar_feeds")


@write_view(Capability.REGISTER_PATIENTS)
def feed_rotate(request: StaffRequest) -> HttpResponse:
    if request.method != "POST":
        return redirect("calendar_feeds")
    feed = feeds.access_feed(request.user.practice_id, request.POST.get("feed", ""))
    return _feed_created(request, notify_actions.rotate_feed_token(actor=request.user, feed=feed))


@login_not_required
@require_safe
def feed(request: HttpRequest, token: str) -> HttpResponse:
    """The feed itself: the token in the URL is the credential; unknown and revoked tokens are both 404. GET
    and HEAD; an ETag of its content, and 304 when the calendar app's copy is current (If-None-Match)."""
    found = feeds.active_feed(token)
    if found is None:
        raise Http404("No such feed.")
    looks.by(found.created_by, f"{found.scope} feed {found.uuid}")  # the feed's maker answers for it
    if found.patient is not None:
        looks.saw(found.patient)
    content = feeds.feed_bytes(found)
    etag = feeds.feed_version(content)
    # If-None-Match alone, by hand: Django's get_conditional_response would answer other preconditions with a
    # 412 whose log line carries this URL, and the URL is the feed's secret.
    held = {tag.strip().removeprefix("W/") for tag in request.headers.get("If-None-Match", "").split(",")}
    if etag in held or "*" in held:
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(content, content_type="text/calendar; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = 'inline; filename="isotrack.ics"'
    return response


# ------------------------------------------------------------------------------------------------ outbox


@require_GET
def outbox(request: StaffRequest) -> HttpResponse:
    rows = outbox_of(request.user.practice_id)[:300]
    return render(request, "web/calendar/outbox.html", {"rows": rows})
