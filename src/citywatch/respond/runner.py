"""Running playbooks: start one per matching incident, do the automatic steps, wait for approvals.

The runner hears every incident the correlator publishes. Each playbook
whose trigger an incident matches starts once for it (the store refuses a
second run of the same playbook for the same incident, so a restart or a
re-emitted incident never repeats a block). Steps run in order: automatic
ones at once, a step that needs approval waits for a person holding its
role, and holds the steps after it. In a dry run every step only says what
it would do. Every step, approval and rejection is written to the audit log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime, tzinfo
from pathlib import Path

import msgspec

from citywatch.detect.portal.crawlers import CrawlerRanges
from citywatch.errors import CitywatchError
from citywatch.model import Alert, Incident, IncidentStatus, PlaybookRun, StepRun, StepStatus
from citywatch.model.alert import MACHINE_DRAFTER
from citywatch.respond.actions import ACTIONS, ActionError, Context
from citywatch.respond.playbook import CAP_SENDER, Playbook
from citywatch.respond.quarantine import QuarantineConfig, QuarantineError
from citywatch.store.base import AuditEntry, Store, StoredAlert

_CLOSED = (IncidentStatus.RESOLVED, IncidentStatus.FALSE_POSITIVE, IncidentStatus.MERGED)


class ApprovalError(CitywatchError):
    """An approval that cannot be given: no such step, not awaiting approval, or the wrong role."""


class UnknownStepError(ApprovalError):
    """The run or the step to approve or reject does not exist."""


class PlaybookRunner:
    """Starts and advances playbook runs, keeping them in the store."""

    def __init__(
        self,
        playbooks: Sequence[Playbook],
        store: Store,
        *,
        data_dir: Path,
        dry_run: bool = False,
        quarantine: QuarantineConfig | None = None,
        cap_sender: str = CAP_SENDER,
        tz: tzinfo = UTC,
        clock: Callable[[], datetime] = lambda: datetime.now(tz=UTC),
        crawlers: CrawlerRanges | None = None,
        own_networks: tuple[str, ...] = (),
        shared_networks: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.playbooks = list(playbooks)
        self.store = store
        self.data_dir = data_dir
        self.dry_run = dry_run
        self.quarantine = quarantine or QuarantineConfig()
        self.cap_sender = cap_sender
        self.tz = tz
        """The city's time zone: the times public alerts write."""
        self._clock = clock
        self.crawlers = crawlers
        """The search crawlers' ranges in use, whose addresses no block or intel takes."""
        self.own_networks = own_networks
        """The city's own ranges, which no block or intel names."""
        self.shared_networks = shared_networks
        """Ranges many people share, each with whose, which no block or intel takes."""

    def start(self, incidents: Sequence[Incident]) -> None:
        """Start the playbooks these incidents trigger (once per incident and playbook)."""
        self.runs_for(incidents)

    def runs_for(self, incidents: Sequence[Incident]) -> list[PlaybookRun]:
        """Start the playbooks these incidents trigger (once per incident); the new runs."""
        started = []
        for incident in incidents:
            if not incident.detections or incident.status in _CLOSED:
                continue
            for book in self.playbooks:
                if book.trigger.matches(incident) and (run := self._start(book, incident)):
                    started.append(run)
        return started

    def _start(self, book: Playbook, incident: Incident) -> PlaybookRun | None:
        digest = hashlib.blake2b(f"{book.id}|{incident.id}".encode(), digest_size=8).hexdigest()
        run = PlaybookRun(
            id=f"run-{digest}",
            playbook=book.id,
            incident=incident.id,
            started=self._clock(),
            dry_run=self.dry_run,
            steps=[StepRun(id=s.id, action=s.action, approval=s.approval) for s in book.steps],
        )
        if not self.store.add_playbook_run(run):
            return None
        self._audit("playbook.start", run, "", "playbook", "success")
        self._advance(run, incident)
        return run

    def approve(
        self, run_id: str, step_id: str, *, user: str, roles: Collection[str]
    ) -> PlaybookRun:
        """Approve a waiting step as ``user`` (who must hold its role) and go on with the run."""
        run, step = self._waiting(run_id, step_id, roles)
        step.approved_by = user
        self._audit("playbook.approve", run, step.id, user, "success")
        incident = self.store.incident(run.incident)
        if incident is None:
            raise ApprovalError(f"incident {run.incident} is gone")
        if incident.status in _CLOSED:
            raise ApprovalError(
                f"incident {run.incident} is {incident.status.value}: nothing more to do for it"
            )
        self._run_step(run, step, incident, actor=user)
        self._advance(run, incident)
        return run

    def reject(
        self, run_id: str, step_id: str, *, user: str, roles: Collection[str], reason: str
    ) -> PlaybookRun:
        """Reject a waiting step: it and the steps after it are not done."""
        run, step = self._waiting(run_id, step_id, roles)
        now = self._clock()
        for later in run.steps[run.steps.index(step) :]:
            later.status, later.at = StepStatus.REJECTED, now
            later.summary = f"rejected by {user}: {reason}"
        self._audit("playbook.reject", run, step.id, user, "success")
        self.store.update_playbook_run(run)
        return run

    def _waiting(
        self, run_id: str, step_id: str, roles: Collection[str]
    ) -> tuple[PlaybookRun, StepRun]:
        run = self.store.playbook_run(run_id)
        if run is None:
            raise UnknownStepError(f"no playbook run {run_id}")
        step = next((s for s in run.steps if s.id == step_id), None)
        if step is None:
            raise UnknownStepError(f"run {run_id} has no step {step_id}")
        if step.status is not StepStatus.AWAITING_APPROVAL:
            raise ApprovalError(f"step {step_id} of {run_id} is not awaiting approval")
        if step.approval not in roles and "admin" not in roles:
            raise ApprovalError(f"step {step_id} needs the {step.approval} role")
        return run, step

    def _advance(self, run: PlaybookRun, incident: Incident) -> None:
        """Run automatic steps in order until one needs approval (or all are done)."""
        for step in run.steps:
            if step.status is not StepStatus.WAITING:
                if step.status is StepStatus.AWAITING_APPROVAL:
                    break
                continue
            if step.approval is not None:
                step.status = StepStatus.AWAITING_APPROVAL
                self._audit("playbook.await", run, step.id, "playbook", "success")
                break
            self._run_step(run, step, incident, actor=f"{MACHINE_DRAFTER}{run.playbook}")
        self.store.update_playbook_run(run)

    def _run_step(self, run: PlaybookRun, step: StepRun, incident: Incident, *, actor: str) -> None:
        book = next(b for b in self.playbooks if b.id == run.playbook)
        spec = next(s for s in book.steps if s.id == step.id)
        detections = [d for i in incident.detections if (d := self.store.detection(i))]
        ctx = Context(
            incident=incident,
            detections=detections,
            params=spec.params,
            now=self._clock(),
            data_dir=self.data_dir,
            actor=actor,
            dry_run=run.dry_run,
            quarantine=self.quarantine,
            cap_sender=self.cap_sender,
            tz=self.tz,
            crawlers=self.crawlers,
            own_networks=self.own_networks,
            shared_networks=self.shared_networks,
        )
        step.at = ctx.now
        try:
            outcome = ACTIONS[step.action](ctx)
        except (ActionError, QuarantineError, ValueError, OSError) as exc:
            step.status, step.summary = StepStatus.FAILED, str(exc)
            self._audit(f"playbook.{step.action}", run, step.id, actor, "failure")
            return
        step.status = StepStatus.DRY_RUN if run.dry_run else StepStatus.DONE
        step.summary, step.files = outcome.summary, outcome.files
        if outcome.alert is not None:  # a draft officers find among the public alerts
            self.store.save_alert(StoredAlert(alert=free_identifier(self.store, outcome.alert)))
        self._audit(f"playbook.{step.action}", run, step.id, actor, "success")

    def _audit(self, action: str, run: PlaybookRun, step: str, actor: str, outcome: str) -> None:
        target = f"{run.incident}/{run.id}" + (f"/{step}" if step else "")
        self.store.append_audit(
            AuditEntry(
                at=self._clock(),
                actor=actor,
                role="playbook" if actor.startswith("playbook") else "approver",
                action=action + (" (dry run)" if run.dry_run else ""),
                target=target,
                request_id=run.id,
                outcome=outcome,
                status=0,
            )
        )


def free_identifier(store: Store, alert: Alert) -> Alert:
    """``alert`` with an identifier no stored alert has (two drafts in one second)."""
    ident, n = alert.identifier, 1
    while store.alert(ident) is not None:
        n += 1
        ident = f"{alert.identifier}-{n}"
    return alert if n == 1 else msgspec.structs.replace(alert, identifier=ident)
