"""Race settling (docs/reference.md "Racing applies", apply/_runtime.py) offline: a fake Foundry whose clock and
listing delay the tests set, and a virtual clock whose waits move time forward at once.

Foundry's clock reads NOW when a test begins; a listing's Date is its whole second. A rival "shows late" when
listings show it only from `visible_at` on (Foundry documents none of this; 1.5 s is the bound ftops assumes).
"""

from __future__ import annotations

import threading
import time

from ftops.apply._recent import PROBES, View
from ftops.apply._runtime import SETTLE_SECONDS, Created, first_look, settle_all, settle_job, settle_upload
from ftops.checks import CheckedProject
from ftops.plan import _matching as matching
from tests.unit.apply.fakes import NOW, PROJECT, FakeClock, FakeFoundry, runtime

HASH = "a" * 16
IDENT = matching.job_metadata(PROJECT, "clippy", HASH, HASH)  # content: one per spec here
FILENAME = matching.file_name(PROJECT, "train", "0" * 64)


def _listed(foundry: FakeFoundry, n: int) -> None:
    """Wait (real time, briefly) until the background looks have made `n` listings."""
    deadline = time.monotonic() + 5
    while len(foundry.listings) < n:
        assert time.monotonic() < deadline, foundry.listings
        time.sleep(0.001)


def test_a_first_look_that_lists_an_older_rival_cancels_ours_and_follows_theirs(
        checked: CheckedProject, clock: FakeClock, foundry: FakeFoundry) -> None:
    rt = runtime(checked, foundry)
    rival = foundry.add_job(HASH, created_at=int(NOW) - 1)
    clock.advance(0.3)
    ours = foundry.add_job(HASH)
    first_look(rt, ours, "clippy", IDENT)
    rt.settler.close()  # the background look is done
    assert foundry.cancelled == [ours.id] and foundry.status(ours.id) == "cancelled"
    assert rt.jobs["clippy"].id == rival.id and ours.id not in rt.created
    assert rt.notes == [f"a concurrent apply created {rival.id} first; cancelled our duplicate {ours.id}"]
    assert len(foundry.listings) == 1 and clock.waited == []  # a first look does not wait


def test_a_first_look_that_is_not_conclusive_leaves_the_job_to_a_later_look(
        checked: CheckedProject, clock: FakeClock, foundry: FakeFoundry) -> None:
    rt = runtime(checked, foundry)
    clock.advance(0.3)
    ours = foundry.add_job(HASH, job_id="ftjob-b")
    first_look(rt, ours, "clippy", IDENT)
    rt.settler.close()
    assert foundry.listings == [("jobs", NOW)] and ours.id in rt.created  # Date NOW: not created_at + 2 yet
    assert rt.jobs["clippy"] is ours and not foundry.cancelled


def test_the_look_after_settle_seconds_finds_a_same_second_rival_with_a_smaller_id(
        checked: CheckedProject, clock: FakeClock, foundry: FakeFoundry) -> None:
    rt = runtime(checked, foundry)
    clock.advance(0.3)
    ours = foundry.add_job(HASH, job_id="ftjob-b")
    first_look(rt, ours, "clippy", IDENT)
    rt.settler.close()
    # Created in our second (so "older": its id sorts first), shown after our first look.
    rival = foundry.add_job(HASH, job_id="ftjob-a", created_at=int(NOW), visible_at=NOW + 1.5)
    assert settle_job(rt, "clippy", ours) is ours and len(foundry.listings) == 1  # within 2.5 s: no look yet
    clock.advance(SETTLE_SECONDS)
    followed = settle_job(rt, "clippy", ours)  # what `--wait` does once the window has passed
    assert followed.id == rival.id and rt.jobs["clippy"].id == rival.id
    assert foundry.cancelled == [ours.id] and ours.id not in rt.created
    assert foundry.listings[-1][1] >= NOW + 2  # the look that found it was conclusive


def test_the_end_of_the_run_waits_for_a_conclusive_look_and_cancels_ours(
        checked: CheckedProject, clock: FakeClock, foundry: FakeFoundry) -> None:
    rt = runtime(checked, foundry)
    clock.advance(0.3)
    ours = foundry.add_job(HASH, job_id="ftjob-b")
    first_look(rt, ours, "clippy", IDENT)
    rival = foundry.add_job(HASH, job_id="ftjob-a", created_at=int(NOW), visible_at=NOW + 1.5)
    settle_all(rt)  # right after: the last step of the run created the job
    # Waited for Foundry's clock to pass created_at + 1.5 s (listings that time their Dates to narrow down its
    # clock on the way; a Date alone would have meant waiting for created_at + 2), then one look.
    assert NOW + 1.5 <= foundry.clocks[-1] < NOW + 1.5 + 0.2, foundry.clocks
    assert len(foundry.listings) <= 1 + PROBES + 1
    assert 0 < sum(clock.waited) <= 1.5
    assert foundry.cancelled == [ours.id] and rt.jobs["clippy"].id == rival.id and not rt.created
    assert rt.notes == [f"a concurrent apply created {rival.id} first; cancelled our duplicate {ours.id}"]


def test_a_same_second_rival_with_a_larger_id_is_the_one_to_go(
        checked: CheckedProject, clock: FakeClock, foundry: FakeFoundry) -> None:
    rt = runtime(checked, foundry)
    clock.advance(0.3)
    ours = foundry.add_job(HASH, job_id="ftjob-b")
    first_look(rt, ours, "clippy", IDENT)
    foundry.add_job(HASH, job_id="ftjob-c", created_at=int(NOW), visible_at=NOW + 1.5)
    settle_all(rt)
    assert not foundry.cancelled and rt.jobs["clippy"] is ours and not rt.created and not rt.notes


def test_a_background_look_late_enough_is_conclusive_for_earlier_jobs(
        checked: CheckedProject, clock: FakeClock, foundry: FakeFoundry) -> None:
    rt = runtime(checked, foundry)
    clock.advance(0.3)
    first = foundry.add_job(HASH)
    first_look(rt, first, "clippy", IDENT)
    _listed(foundry, 1)  # Date NOW: not conclusive for `first`
    clock.advance(2.0)
    other = matching.job_metadata(PROJECT, "other", "b" * 16, "b" * 16)
    second = foundry.add_job("b" * 16, name="other")
    first_look(rt, second, "other", other)
    rt.settler.close()
    # The second job's first look (Date NOW + 2) is the conclusive look of the first: no more looks for it.
    assert [date for _, date in foundry.listings] == [NOW, NOW + 2]
    assert first.id not in rt.created and second.id in rt.created
    settle_all(rt)  # waits only for the second job's conclusive look
    assert NOW + 3.5 <= foundry.clocks[-1] < NOW + 3.7 and not rt.created


def test_a_conclusive_look_is_one_that_began_after_the_creation_at_created_at_plus_one_and_a_half() -> None:
    created = Created("clippy", IDENT, at=10.0, created_at=int(NOW))
    assert not created.settled_by(View(started=10.5, server_time=NOW + 1, horizon=0, clock=NOW + 1.4))
    assert created.settled_by(View(started=10.5, server_time=NOW + 1, horizon=0, clock=NOW + 1.5))
    assert created.settled_by(View(started=10.5, server_time=NOW + 2, horizon=0, clock=NOW + 2))
    assert not created.settled_by(View(started=9.5, server_time=NOW + 5, horizon=0, clock=NOW + 5))  # began before
    assert not created.settled_by(View(started=10.5, server_time=None, horizon=0))  # no Date: nothing is known


def test_the_last_look_of_a_job_that_ended_does_not_wait_and_says_it_was_billed(
        checked: CheckedProject, clock: FakeClock, foundry: FakeFoundry) -> None:
    rt = runtime(checked, foundry)
    clock.advance(0.3)
    ours = foundry.add_job(HASH, job_id="ftjob-b")
    first_look(rt, ours, "clippy", IDENT)
    rt.settler.close()
    rival = foundry.add_job(HASH, job_id="ftjob-a", created_at=int(NOW), visible_at=NOW + 1.5)
    clock.advance(1.2)  # Foundry's clock NOW + 1.5: the rival shows; not yet a conclusive Date
    foundry.set_status(ours.id, "succeeded")
    followed = settle_job(rt, "clippy", foundry.get_job(ours.id), final=True)
    assert followed.id == rival.id and clock.waited == []  # an ended job can no longer be cancelled: no wait
    assert rt.notes == [f"a concurrent apply created {rival.id} first; our duplicate {ours.id} had already "
                        "succeeded (billed) and could not be cancelled; following the older job"]


def test_an_older_rival_that_failed_or_was_cancelled_does_not_count(
        checked: CheckedProject, clock: FakeClock, foundry: FakeFoundry) -> None:
    rt = runtime(checked, foundry)
    foundry.add_job(HASH, created_at=int(NOW) - 2, status="failed")
    foundry.add_job(HASH, created_at=int(NOW) - 1, status="cancelled")
    clock.advance(0.3)
    ours = foundry.add_job(HASH)
    first_look(rt, ours, "clippy", IDENT)
    settle_all(rt)
    assert not foundry.cancelled and rt.jobs["clippy"] is ours and not rt.created


def test_an_upload_waits_until_foundrys_clock_is_past_its_second_then_keeps_the_older_one(
        checked: CheckedProject, clock: FakeClock, foundry: FakeFoundry) -> None:
    rt = runtime(checked, foundry)
    theirs = foundry.add_file(FILENAME, file_id="file-a", created_at=int(NOW), visible_at=NOW + 1.5)
    clock.advance(0.3)
    ours = foundry.add_file(FILENAME, file_id="file-b")  # the same second; theirs sorts first
    kept = settle_upload(rt, ours)
    assert kept.id == theirs.id and foundry.deleted == [ours.id]
    # Looked once Foundry's clock was past created_at + 1.5 s (not waiting for a Date of created_at + 2)
    assert foundry.listings[-1][0] == "files" and NOW + 1.5 <= foundry.clocks[-1] < NOW + 1.7, foundry.clocks
    assert rt.notes == [f"a concurrent apply uploaded {theirs.id} first; deleted our duplicate upload {ours.id}"]


def test_an_upload_keeps_itself_against_a_newer_rival(
        checked: CheckedProject, clock: FakeClock, foundry: FakeFoundry) -> None:
    rt = runtime(checked, foundry)
    clock.advance(0.3)
    ours = foundry.add_file(FILENAME, file_id="file-b")
    foundry.add_file(FILENAME, file_id="file-c", created_at=int(NOW), visible_at=NOW + 1.5)
    foundry.add_file(FILENAME, created_at=int(NOW) + 1)
    assert settle_upload(rt, ours) is ours and not foundry.deleted and not rt.notes


def test_ctrl_c_ends_the_wait_for_foundrys_clock(
        checked: CheckedProject, clock: FakeClock, foundry: FakeFoundry) -> None:
    rt = runtime(checked, foundry)
    clock.advance(0.3)
    ours = foundry.add_file(FILENAME)
    rt.stop.set()
    assert settle_upload(rt, ours) is ours
    assert len(foundry.listings) == 1 and sum(clock.waited) == 0


def test_the_looks_of_concurrent_settling_share_listings(
        checked: CheckedProject, clock: FakeClock, foundry: FakeFoundry) -> None:
    rt = runtime(checked, foundry)
    clock.advance(0.3)
    uploads = [foundry.add_file(f"{FILENAME}.{i}") for i in range(6)]
    clock.advance(3.0)  # every upload is due for its look: one listing (Date NOW + 3) serves them all
    threads = [threading.Thread(target=settle_upload, args=(rt, f)) for f in uploads]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert foundry.listings == [("files", NOW + 3)]
