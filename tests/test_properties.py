"""Property-based tests: rendering and parsing are inverse, and the id tracks the bytes exactly."""

import subprocess
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from mtasts.config import parse_stack_settings
from mtasts.plan import plan_stack
from mtasts.policy import MAX_AGE_LIMIT, Policy, parse_policy, policy_id
from mtasts.records import parse_sts_record

ROOT = Path(__file__).resolve().parents[1]

labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
hosts = st.lists(labels, min_size=2, max_size=4).map(".".join).filter(lambda h: not h.rsplit(".", 1)[1].isdigit())
patterns = st.one_of(hosts, hosts.map(lambda h: "*." + h))
modes = st.sampled_from(["enforce", "testing", "none"])
max_ages = st.integers(min_value=0, max_value=MAX_AGE_LIMIT)
ext_names = st.from_regex(r"x-[a-z0-9_.-]{1,20}", fullmatch=True)
ext_values = st.from_regex(r"[!-~]([ !-~]{0,30}[!-~])?", fullmatch=True)


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    mode = draw(modes)
    mx = tuple(dict.fromkeys(draw(st.lists(patterns, min_size=0 if mode == "none" else 1, max_size=6))))
    extensions = tuple(draw(st.lists(st.tuples(ext_names, ext_values), max_size=3, unique_by=lambda e: e[0])))
    return Policy(mode=mode, max_age=draw(max_ages), mx=mx, extensions=extensions)


@given(policies())
def test_render_then_parse_round_trips(policy: Policy) -> None:
    """Any valid policy parses back from its rendering to an equal policy."""
    parsed = parse_policy(policy.render())
    assert parsed.ok, parsed.errors
    assert parsed.unwrap() == policy


@given(policies())
def test_rendered_text_is_canonical(policy: Policy) -> None:
    """Every rendering starts with the version, uses CRLF only and has no trailing white space."""
    text = policy.render()
    assert text.startswith("version: STSv1\r\n")
    assert text.endswith("\r\n")
    lines = text.split("\r\n")[:-1]
    assert all("\n" not in line and "\r" not in line and line == line.rstrip() for line in lines)
    assert len([line for line in lines if line.startswith("mx: ")]) == len(policy.mx)


@given(policies(), policies())
def test_id_changes_iff_bytes_change(a: Policy, b: Policy) -> None:
    """Two policies share an id exactly when their served bytes are equal."""
    assert (a.id == b.id) == (a.to_bytes() == b.to_bytes())


@given(st.binary(max_size=256), st.binary(max_size=256))
def test_id_of_raw_bytes(a: bytes, b: bytes) -> None:
    """policy_id is a valid RFC 8461 §3.1 id and equal only for equal inputs."""
    assert parse_sts_record(f"v=STSv1; id={policy_id(a)}").id == policy_id(a)
    assert (policy_id(a) == policy_id(b)) == (a == b)


@given(st.dictionaries(hosts, st.tuples(modes, st.lists(hosts, min_size=1, max_size=3)), min_size=1, max_size=5))
def test_planning_twice_is_identical(domains: dict[str, tuple[str, list[str]]]) -> None:
    """Planning the same config twice gives byte-identical policies, ids and records: no clock, no randomness."""
    settings = {"domains": {d: {"mode": mode, "mx": mx} for d, (mode, mx) in domains.items()}}
    first = plan_stack(parse_stack_settings(settings))
    second = plan_stack(parse_stack_settings(settings))
    assert first.to_dict() == second.to_dict()


def test_ids_are_identical_across_processes() -> None:
    """A fresh interpreter (another hash seed) computes the same ids as this one."""
    code = (
        "from pathlib import Path; from mtasts.plan import plan_stack_file; "
        "print(' '.join(d.policy_id for d in plan_stack_file(Path('Pulumi.example.yaml')).domains))"
    )
    env_runs = [
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
        ).stdout.split()
        for seed in ("1", "2")
    ]
    from mtasts.plan import plan_stack_file

    here = [d.policy_id for d in plan_stack_file(ROOT / "Pulumi.example.yaml").domains]
    assert env_runs[0] == env_runs[1] == here


scalar_text = st.one_of(
    st.from_regex(r"[-+]?[0-9_]{0,6}([.:][0-9_]{0,4}){0,3}([eE][-+]?[0-9]{1,3})?", fullmatch=True),
    st.from_regex(r"[-+]?0[xobXOB][0-9a-fA-F_]{0,6}", fullmatch=True),
    st.sampled_from(["yes", "No", "ON", "off", "y", "n", "~", "null", "Null", ".inf", "-.Inf", ".NaN", "true", "True"]),
    st.from_regex(
        r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ][0-9]{1,2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,3})?Z?)?", fullmatch=True
    ),
    st.from_regex(r"[a-z][a-z0-9.-]{0,12}", fullmatch=True),
)


@given(scalar_text)
def test_any_plain_scalar_is_read_as_pulumi_reads_it_or_refused(text: str) -> None:
    """Any plain value in a stack file is either read exactly as Pulumi's program receives it, or one error line."""
    import json
    import tempfile

    from mtasts.config import _Unsendable, load_yaml_file, pulumi_reads
    from mtasts.errors import ConfigError

    theirs = pulumi_reads(text)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "Pulumi.p.yaml"
        path.write_text(f"config:\n  mta-sts:x: {text}\n")
        refused: list[str] = []
        try:
            ours = load_yaml_file(path, pulumi_compatible=True)["config"]["mta-sts:x"]
        except ConfigError as exc:
            refused = exc.lines()
    if refused:
        assert len(refused) == 1
        return
    assert not isinstance(theirs, _Unsendable)
    assert type(ours) is type(theirs)
    assert ours == theirs
    assert json.loads(json.dumps(ours)) == ours  # what Pulumi hands over as JSON comes back the same
