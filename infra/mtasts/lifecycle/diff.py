"""What a change to the stack config does to senders: the offline `mtasts diff`.

Compares the plan of a stack at a git ref with the plan of the working tree,
domain by domain, and names the changes that matter to sending MTAs, with
warnings for the risky ones (RFC 8461 §5, §8).
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from ..config import MAX_YAML_BYTES, TemplateStore
from ..errors import ConfigError, MtastsError, Problem
from ..names import to_unicode
from ..plan import DomainPlan, StackPlan, plan_stack_file

__all__ = ["DomainDiff", "StackDiff", "diff_plans", "plan_at_ref"]

Status = Literal["added", "removed", "changed", "unchanged"]


@dataclass(frozen=True)
class DomainDiff:
    """How one domain's published state changes."""

    domain: str
    """Policy domain, A-label form."""
    status: Status
    """added, removed, changed or unchanged."""
    old: DomainPlan | None
    """The plan at the base ref, if the domain was there."""
    new: DomainPlan | None
    """The plan of the working tree, if the domain is there."""
    changes: tuple[tuple[str, Any, Any], ...] = ()
    """(field, old, new) for mode, max_age, policy_id, ttl, zone."""
    mx_added: tuple[str, ...] = ()
    """MX patterns the new policy adds."""
    mx_removed: tuple[str, ...] = ()
    """MX patterns the new policy drops."""
    rua_added: tuple[str, ...] = ()
    """TLS-RPT URIs added."""
    rua_removed: tuple[str, ...] = ()
    """TLS-RPT URIs removed."""
    warnings: tuple[str, ...] = field(default=())
    """The plan's warnings for the new state (``field: advice``), then what the change could do: strand mail or
    leave stale policies cached, in plain words."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "domain": self.domain,
            "display_name": to_unicode(self.domain),
            "status": self.status,
            "old_policy_id": self.old.policy_id if self.old else None,
            "new_policy_id": self.new.policy_id if self.new else None,
            "changes": {name: {"old": old, "new": new} for name, old, new in self.changes},
            "mx_added": list(self.mx_added),
            "mx_removed": list(self.mx_removed),
            "rua_added": list(self.rua_added),
            "rua_removed": list(self.rua_removed),
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class StackDiff:
    """Every domain's diff, sorted by name."""

    base: str
    """The git ref compared against."""
    domains: tuple[DomainDiff, ...]
    """One entry per domain present on either side."""

    @property
    def changed(self) -> list[DomainDiff]:
        """Domains whose published state changes."""
        return [d for d in self.domains if d.status != "unchanged"]

    @property
    def warnings(self) -> list[Problem]:
        """All warnings, located by domain."""
        return [Problem(d.domain, w) for d in self.domains for w in d.warnings]

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``mtasts diff --json``."""
        return {"base": self.base, "domains": [d.to_dict() for d in self.domains]}


def _added(old: Sequence[str], new: Sequence[str]) -> tuple[str, ...]:
    return tuple(x for x in new if x not in old)


def _domain_warnings(old: DomainPlan | None, new: DomainPlan | None) -> list[str]:
    warnings: list[str] = []
    if new is None and old is not None:
        if old.config.mode != "none":
            warnings.append(
                f"removed while its last policy is mode {old.config.mode}: senders keep enforcing or reporting it for "
                f"up to max_age {old.config.max_age} s. Retire it first (mode none, RFC 8461 §8.3), then remove it."
            )
        return warnings
    if new is None:
        return warnings
    n = new.config
    if n.mode == "enforce" and (old is None or old.config.mode != "enforce"):
        warnings.append(
            "enforce is switched on: senders that support MTA-STS will refuse MX hosts that do not match "
            f"{', '.join(n.mx)} or present no valid certificate (RFC 8461 §5). Check TLS-RPT reports and run "
            "`mtasts check` first."
        )
    if old is None:
        return warnings
    o = old.config
    if o.mode == "enforce" and n.max_age < o.max_age:
        warnings.append(
            f"max_age lowered from {o.max_age} to {n.max_age} while enforcing: senders that cached the old policy "
            f"keep it up to {o.max_age} s; the lower value only applies to fetches after this change."
        )
    if o.mode == "enforce" and n.mode == "enforce":
        added = _added(o.mx, n.mx)
        removed = _added(n.mx, o.mx)
        if added:
            warnings.append(
                f"MX patterns added ({', '.join(added)}): senders holding the old policy reject these hosts until they "
                f"refetch, up to {o.max_age} s. Publish the pattern before pointing MX records at a new host."
            )
        if removed:
            warnings.append(
                f"MX patterns removed ({', '.join(removed)}): mail to a host still in the MX records that matches only "
                "these patterns will be refused. Remove the MX records first (`mtasts diff --preflight` checks)."
            )
    if o.rua and not n.rua:
        warnings.append("TLS-RPT is switched off: senders stop reporting delivery failures for this domain.")
    return warnings


def _diff_domain(domain: str, old: DomainPlan | None, new: DomainPlan | None) -> DomainDiff:
    if old is None and new is None:  # pragma: no cover - callers pass at least one
        raise ValueError(domain)
    status: Status
    if old is None:
        status = "added"
    elif new is None:
        status = "removed"
    elif old.policy_bytes == new.policy_bytes and old.records == new.records and old.config.zone == new.config.zone:
        status = "unchanged"
    else:
        status = "changed"
    changes: list[tuple[str, Any, Any]] = []
    o_mx: tuple[str, ...] = old.config.mx if old else ()
    n_mx: tuple[str, ...] = new.config.mx if new else ()
    o_rua: tuple[str, ...] = old.config.rua if old else ()
    n_rua: tuple[str, ...] = new.config.rua if new else ()
    if old and new:
        for name in ("mode", "max_age", "ttl", "zone"):
            before, after = getattr(old.config, name), getattr(new.config, name)
            if before != after:
                changes.append((name, before, after))
        if old.policy_id != new.policy_id:
            changes.append(("policy_id", old.policy_id, new.policy_id))
    return DomainDiff(
        domain=domain,
        status=status,
        old=old,
        new=new,
        changes=tuple(changes),
        mx_added=_added(o_mx, n_mx) if old else (),
        mx_removed=_added(n_mx, o_mx) if new else (),
        rua_added=_added(o_rua, n_rua) if old else (),
        rua_removed=_added(n_rua, o_rua) if new else (),
        warnings=(*_plan_warnings(new), *_domain_warnings(old, new)),
    )


def _plan_warnings(new: DomainPlan | None) -> tuple[str, ...]:
    """The plan's own advice for the new state (what `mtasts plan` prints), so a reviewer sees it in the diff."""
    if new is None:
        return ()
    prefix = f"domains.{new.config.key}."
    return tuple(f"{w.path.removeprefix(prefix)}: {w.message}" for w in new.config.warnings)


def diff_plans(old: StackPlan | None, new: StackPlan, base: str = "") -> StackDiff:
    """Compare two plans; ``old`` is ``None`` when the stack did not exist at the base."""
    before = {d.domain: d for d in old.domains} if old else {}
    after = {d.domain: d for d in new.domains}
    names = sorted(before.keys() | after.keys())
    return StackDiff(base, tuple(_diff_domain(n, before.get(n), after.get(n)) for n in names))


def with_live_mx(diff: StackDiff, net: Any) -> StackDiff:
    """Add a warning for each removed MX pattern of an enforce domain that a live MX host still needs.

    ``net`` is a :class:`mtasts.checker.net.Network`; a lookup failure is a warning too, never silence. The
    domains are looked up concurrently (as the preflight gate does), so a dead resolver costs one timeout, not
    one per domain.
    """
    from concurrent.futures import ThreadPoolExecutor

    from ..names import mx_matches

    def live_hosts(domain: str) -> tuple[list[str], str | None]:
        try:
            return list(net.mx(domain)), None
        except Exception as exc:  # any resolver failure is reported, not raised
            return [], f"could not look up the live MX hosts to check removed patterns: {exc}"

    needed = [d for d in diff.domains if d.new is not None and d.new.config.mode == "enforce" and d.mx_removed]
    if not needed:
        return diff
    with ThreadPoolExecutor(max_workers=min(64, len(needed))) as pool:
        looked_up = dict(zip((d.domain for d in needed), pool.map(live_hosts, (d.domain for d in needed)), strict=True))
    domains = []
    for d in diff.domains:
        if d.domain not in looked_up or d.new is None:
            domains.append(d)
            continue
        hosts, failure = looked_up[d.domain]
        extra = [failure] if failure else []
        for host in hosts:
            if any(mx_matches(host, p) for p in d.mx_removed) and not any(mx_matches(host, p) for p in d.new.config.mx):
                extra.append(f"live MX host {host} is only covered by a removed pattern: senders will refuse it")
        domains.append(replace(d, warnings=d.warnings + tuple(extra)) if extra else d)
    return StackDiff(diff.base, tuple(domains))


def _git(repo: Path, *args: str) -> bytes:
    try:
        result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)  # noqa: S603, S607  # fixed git arguments
    except FileNotFoundError:
        raise MtastsError(Problem("git", "git is not installed")) from None
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise MtastsError(Problem(f"git {args[0]}", message[-1] if message else f"exit status {result.returncode}"))
    return result.stdout


def _tree_entries(repo: Path, commit: str, wanted: list[str]) -> dict[str, tuple[str, int]]:
    """``path -> (git mode, size)`` of the files under ``wanted`` at ``commit`` (``git ls-tree -r -l``)."""
    entries: dict[str, tuple[str, int]] = {}
    listing = _git(repo, "ls-tree", "-r", "-l", "-z", commit, "--", *wanted).decode("utf-8", "surrogateescape")
    for line in filter(None, listing.split("\0")):
        meta, _, path = line.partition("\t")
        mode, _kind, _object, size = meta.split()
        entries[path] = (mode, int(size) if size.isdigit() else 0)
    return entries


def plan_at_ref(stack_file: Path, ref: str, templates_dir: Path | None = None) -> StackPlan | None:
    """The plan of ``stack_file`` as committed at ``ref``, with the templates of that commit.

    Templates come from the commit's ``policy_templates/`` beside the stack
    file (or ``templates_dir`` when it is inside the repository); a
    ``templates_dir`` outside the repository is not versioned with it and is
    used as it is. Returns ``None`` when the stack file does not exist at
    ``ref`` (a new stack); raises :class:`MtastsError` when ``ref`` is not a
    commit of the repository.
    """
    shown = stack_file
    stack_file = stack_file.resolve()
    repo = Path(_git(shown.absolute().parent, "rev-parse", "--show-toplevel").decode().strip()).resolve()
    try:
        commit = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").decode().strip()
    except MtastsError:
        raise MtastsError(Problem("--base", f"{ref!r} is not a commit of {repo}")) from None
    if not stack_file.is_relative_to(repo):
        raise MtastsError(Problem(str(shown), f"leads outside the repository {repo}; diff reads only files in it"))
    relative = stack_file.relative_to(repo).as_posix()
    templates_path = (templates_dir or stack_file.parent / "policy_templates").resolve()
    versioned = templates_path.is_relative_to(repo)
    wanted = [relative, templates_path.relative_to(repo).as_posix()] if versioned else [relative]
    entries = _tree_entries(repo, commit, wanted)
    if relative not in entries:
        return None
    for path, (mode, size) in entries.items():
        where = f"{ref}:{path}"
        if mode != "100644" and mode != "100755":
            what = "a symbolic link" if mode == "120000" else f"not a regular file (git mode {mode})"
            raise ConfigError(Problem(where, f"is {what} at that commit; diff reads only regular files"))
        if size > MAX_YAML_BYTES:
            raise ConfigError(Problem(where, f"is larger than {MAX_YAML_BYTES:,} bytes at that commit; refused"))
    archive = _git(repo, "archive", "--format=tar", commit, "--", *entries)
    with tempfile.TemporaryDirectory(prefix="mtasts-diff-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            try:
                tar.extractall(tmp, filter="data")
            except (tarfile.TarError, OSError) as exc:  # FilterError and friends: refused, one line
                raise ConfigError(Problem(f"{ref}:{relative}", f"cannot be read from that commit: {exc}")) from None
        if versioned:
            folder = Path(tmp) / templates_path.relative_to(repo)
            store = TemplateStore(folder if folder.is_dir() else None)
        else:
            store = TemplateStore(templates_path)
        try:
            return plan_stack_file(Path(tmp) / relative, store)
        except ConfigError as exc:
            problems = [Problem(f"{ref}:{p.path.replace(tmp + '/', '')}", p.message) for p in exc.problems]
            raise ConfigError(problems) from None
