"""Values one host's tasks set, read later in the run: by the same host in a later play, by
another host through `hostvars`, and by every host of a play from a `run_once` task.

Ansible keeps what `register` and `set_fact` give a host for the whole playbook run:

- **same host, later play**: compile carries the names a host's tasks set (and the values
  known at compile time) from one play to the next (`Sharing.start`/`end`); at run time
  the values the host's last play left (its plan, or its apply) start the next play's walk
  (`Sharing.carry`, `HostShare.watch`).
- **another host** (`hostvars['web2'].out`, `hostvars[groups.db[0]].token`): a name
  another host's tasks set is a late value of the reading host, the group
  `reg:hostvars['web2'].out`. Its value is the one the other host's *plan* gives when its
  walk reaches the reading task (Ansible's linear strategy: every host has run the tasks
  before it). The hosts of a batch are probed in parallel as always; a host that reads
  another one's value waits, before it plans, for that host's plan (no second probe: a
  converged re-run stays one connection and one remote command per host). A host that
  ran in an earlier play gives the value that play left it.
- **run_once** with `register` or `set_fact`: the task is read on the play's first host;
  every other host takes the first host's result at that task (`reg:run_once['h1'].out`).

Where the value is not known when the reading host plans, the reading task is refused
with what to write instead, never guessed: the other host sets it by a task whose result
is known only at apply, or runs in another batch of the play (`serial`), or is not in the
run, or the two hosts read each other's values in the same play.

Values from another host are read like any registered result: they reach a task only
through its templates, whose every guard (quoting, line breaks, paths, ...) applies.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from provision.errors import InputError, Location
from provision.facts.hostvars import FactsNeeded, GroupValues
from provision.planning.model import HostState, NoOp, Outcome
from provision.project.registered import KeywordTask
from provision.tasks.base import TaskContext, TaskType

REG = "reg:"  # as compile.REG (compile imports this module): a late value's group prefix
HOSTVARS, RUN_ONCE = "hostvars", "run_once"
_KEYS: dict[str, tuple[str, str, str]] = {}  # group → (kind, host, name)
WAIT_SLICE = 0.2  # seconds between two looks at Ctrl-C while waiting for another host


def cross_key(kind: str, host: str, name: str) -> str:
    """The late group of `name` as host `host` sets it (kind: hostvars or run_once)."""
    key = f"{REG}{kind}[{host!r}].{name}"
    _KEYS.setdefault(key, (kind, host, name))
    return key


def parse_key(group: str) -> tuple[str, str, str] | None:
    """(kind, host, name) of a group made by cross_key; None for any other group."""
    return _KEYS.get(group)


class Unknown:
    """A shared value the reading host cannot have at plan time: reading it is refused."""

    def __init__(self, message: str, hint: str = "") -> None:
        self.message, self.hint = message, hint

    def __repr__(self) -> str:
        return f"Unknown({self.message!r})"


UNDEFINED = object()  # the other host never set the name: undefined, as in Ansible
DEFER = object()  # set in an earlier play, known only at its apply: decided at apply
_AT_APPLY_HINT = (
    "read the value with a read-only task (`changed_when: false`, `stat`) so it is known "
    "at plan time, or read it in a later play"
)


GIVEN = REG + "(shared)"  # in a planning host's late values: the keys decided at apply


def read_value(facts: GroupValues | None, key: str) -> Any:
    """A shared value from the reading host's late values (FactsNeeded when not given yet;
    refused when the host plans and the read was not found before the run)."""
    if facts is not None and key not in facts and GIVEN in facts and key not in facts[GIVEN]:
        kind, host, name = _KEYS[key]
        raise InputError(
            f"{kind}[{host!r}].{name}: another host's value read where this tool does not "
            "find it before the run (the template reads another late value or a host fact "
            "first), so it is not known here",
            hint=f"read it alone first: `set_fact: {{x: \"{{{{ hostvars['{host}'].{name} }}}}\"}}`",
        )
    if facts is None or key not in facts:
        raise FactsNeeded(frozenset({key}))
    value = facts[key]
    if isinstance(value, Unknown):
        raise InputError(value.message, hint=value.hint or None)
    if value is UNDEFINED:
        raise KeyError(key)
    return value


# ------------------------------------------------------------------ compile: hostvars


class HostsView(Mapping):
    """`hostvars` as one host's tasks read it: each host's inventory variables, and under
    them what that host's tasks set (a late value, see module doc)."""

    def __init__(self, base: Mapping, shared: Any, facts: GroupValues | None) -> None:
        self._base, self._shared, self._facts = base, shared, facts

    def __getitem__(self, host: str) -> HostView:
        return HostView(host, self._base[host], self._shared, self._facts)

    def __contains__(self, host: object) -> bool:
        return host in self._base

    def __iter__(self) -> Iterator[str]:
        return iter(self._base)

    def __len__(self) -> int:
        return len(self._base)

    def __repr__(self) -> str:
        return f"hostvars({len(self)} hosts)"


class HostView(Mapping):
    """`hostvars[host]`: what `host`'s tasks set (registered results, set_fact) over its
    inventory variables."""

    def __init__(self, host: str, inner: Mapping, shared: Any, facts: GroupValues | None) -> None:
        self._host, self._inner, self._shared, self._facts = host, inner, shared, facts

    def _set_by_tasks(self, name: str) -> bool:
        shared = self._shared
        if name in shared.late or name in shared.static:
            return True  # set by a task before this one in the play (the same tasks run there)
        sharing = shared.sharing
        return sharing is not None and name in sharing.names.get(self._host, ())

    def __getitem__(self, name: str) -> Any:
        shared = self._shared
        if self._host == shared.host:  # the reading host's own values
            if name in shared.late:
                return read_value(self._facts, REG + name)
            if name in shared.static:
                return shared.static[name]
            return self._inner[name]
        if isinstance(name, str) and self._set_by_tasks(name):
            return read_value(self._facts, cross_key(HOSTVARS, self._host, name))
        return self._inner[name]

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str) and self._set_by_tasks(name):
            try:
                self[name]
            except KeyError:
                return False
            return True
        return name in self._inner

    def __iter__(self) -> Iterator[str]:
        return iter(self._inner)

    def __len__(self) -> int:
        return len(self._inner)

    def __repr__(self) -> str:
        return f"hostvars[{self._host!r}]"


# ------------------------------------------------------------------ compile: run_once


class RunOnceCopy(KeywordTask):
    """A `run_once` task on a host other than the play's first: the first host's result
    (registered, or its set_fact values), given as this host's, as Ansible does."""

    shown_as = "run_once"

    def __init__(self, context: TaskContext, first: str, result: dict[str, Any]) -> None:
        super().__init__(context)
        self.first = first
        self._result = result

    def describe(self) -> str:
        return f"run_once: the result of {self.first}"

    def plan(self, state: HostState) -> Outcome:
        return NoOp(f"run_once: ran on {self.first}; its result is this host's too")

    def result(self, state: HostState) -> dict[str, Any] | None:
        return dict(self._result)


def run_once_copy(
    first: str,
    register: str | None,
    sets: Sequence[str],
    context: TaskContext,
) -> tuple[Callable[[GroupValues], tuple[TaskType, str | None]], frozenset[str]]:
    """(build, groups) of the copy a non-first host makes of a run_once task's result."""
    names = [*sets, *([register] if register is not None else [])]
    keys = {name: cross_key(RUN_ONCE, first, name) for name in names}

    def build(facts: GroupValues) -> tuple[TaskType, str | None]:
        result: dict[str, Any] = {"changed": False, "failed": False, "skipped": False}
        if register is not None:
            value = read_value(facts, keys[register])
            result = dict(value) if isinstance(value, dict) else {"value": value}
        if sets:
            values = {}
            for name in sets:
                try:
                    values[name] = read_value(facts, keys[name])
                except KeyError:
                    continue
            result = {**result, "ansible_facts": values}
        return RunOnceCopy(context, first, result), "set_fact " + ", ".join(sets) if sets else None

    return build, frozenset(keys.values())


# ------------------------------------------------------------------ the run-wide store


@dataclass
class HostShare:
    """What one host's share of one play needs from the run-wide store."""

    sharing: Sharing
    host: str
    earlier: frozenset[str]  # names this host's tasks set in earlier plays

    def watch(self, tasks: Sequence[Any], stop: threading.Event) -> Watch:
        return self.sharing.watch(self, tasks, stop)

    def publish(self, watch: Watch) -> None:
        self.sharing.publish(watch)

    def carry(self, facts: Mapping[str, Any]) -> None:
        self.sharing.carry(self.host, facts)


@dataclass
class Request:
    """A value a host of the batch reads from another: `kind` before (hostvars) or after
    (run_once) the task at `location` on `host`."""

    kind: str
    location: Location
    name: str


@dataclass
class Watch:
    """Follows one host's plan walk (planner.plan_host calls it before each task, and with
    None at the end): records the values other hosts read from this one, and gives this
    host the values it reads from others, each at its task."""

    host: str
    initial: dict[str, Any]  # the values the host's earlier plays left it (late groups)
    earlier: frozenset[str]
    requests: list[Request] = field(default_factory=list)
    inject: dict[Place, dict[str, Any]] = field(default_factory=dict)  # at a task: key → value
    before: dict[tuple[Place, str], Any] = field(default_factory=dict)
    after: dict[tuple[Place, str], Any] = field(default_factory=dict)
    final: dict[str, Any] | None = None
    deferred: set[str] = field(default_factory=set)  # keys decided at apply (GIVEN)
    seen: dict[str, Location] = field(default_factory=dict)  # name → the task that set it
    _last: Any = None

    def apply_values(self) -> dict[str, Any]:
        """The late values apply starts from: the earlier plays', then what it reads."""
        values = dict(self.initial)
        for given in self.inject.values():
            values.update(
                {k: v for k, v in given.items() if v is not DEFER and not isinstance(v, Unknown)}
            )
        return values

    def _value(self, facts: Mapping[str, Any], name: str) -> Any:
        if REG + name in facts:
            return facts[REG + name]
        where = self.seen.get(name)
        if where is not None:
            return Unknown(
                f"`{name}` of {self.host} is known only when apply runs the task that sets it "
                f"({where}): it changes {self.host}, or follows a change there, and another "
                "host reads only values known at plan time",
                _AT_APPLY_HINT,
            )
        if name in self.earlier:
            return DEFER
        return UNDEFINED

    def __call__(self, compiled: Any, facts: dict[str, Any]) -> None:
        last = self._last
        if last is not None:
            for name in [*getattr(last, "sets", ()), last.register]:
                if name:
                    self.seen[name] = last.location
        place = None if compiled is None else _at(compiled.location)
        for request in self.requests:
            at = _at(request.location)
            key = (at, request.name)
            if request.kind == HOSTVARS and (place == at or compiled is None):
                if key not in self.before:  # at the end: for a handler, as the tasks left it
                    self.before[key] = self._value(facts, request.name)
            elif request.kind == RUN_ONCE and last is not None:
                if _at(last.location) == at and place != at:
                    if key not in self.after:
                        self.after[key] = self._value(facts, request.name)
        self._last = compiled
        if compiled is None:
            self.final = own_values(facts)
            # the handlers, planned after the tasks, read what the tasks read
            givens = list(self.inject.values())
        else:
            givens = [self.inject.get(_at(compiled.location), {})]
        for key, value in ((k, v) for given in givens for k, v in given.items()):
            if value is DEFER:
                facts.pop(key, None)  # decided at apply (an earlier play's value)
                self.deferred.add(key)
            else:
                facts[key] = value


class Sharing:
    """The run-wide store: at compile time, which names each host's tasks set (and their
    compile-time values, for its later plays); at run time, each host's values."""

    def __init__(self) -> None:
        self.names: dict[str, set[str]] = {}  # host → names its tasks set (plays so far)
        self._carried: dict[str, Any] = {}  # host → its RunShared at the end of its last play
        self._cond = threading.Condition()
        self.begin()

    # compile
    def start(self, host: str, shared: Any) -> Any:
        """A host's RunShared for its next play: what its earlier plays set."""
        before = self._carried.get(host)
        if before is not None:
            shared.late.update(before.late)
            shared.static.update(before.static)
            shared.late_facts.update(before.late_facts)
        shared.sharing, shared.host = self, host
        return shared

    def end(self, host: str, shared: Any) -> HostShare:
        earlier = frozenset(self.names.get(host, ()))
        self._carried[host] = shared
        names = self.names.setdefault(host, set())
        names.update(shared.late, shared.static)
        return HostShare(self, host, earlier)

    # run
    def begin(self) -> None:
        """A new run of the compiled plays: no value known yet."""
        with self._cond:
            self._values: dict[str, dict[str, Any]] = {}  # host → late values, last play
            self._seen: dict[str, dict[str, Location]] = {}
            self._batch: list[str] = []
            self._play: set[str] = set()
            self._requests: dict[str, list[Request]] = {}  # producer → what others read
            self._reads: dict[str, list[tuple[Location, str]]] = {}  # reader → (where, key)
            self._waits: dict[str, set[str]] = {}  # reader → producers of this batch
            self._cycle: set[str] = set()
            self._published: dict[str, Watch] = {}
            self._left: set[str] = set()

    def open_batch(self, group: list[Any], play: Sequence[Any]) -> list[Any]:
        """A batch of a play starts: what its hosts read from each other. Returns the batch
        in the order to start its hosts (a host before those that read its values)."""
        names = [hp.host.name for hp in group]
        requests: dict[str, list[Request]] = {}
        reads: dict[str, list[tuple[Location, str]]] = {}
        waits: dict[str, set[str]] = {n: set() for n in names}
        for host_play in group:
            reader = host_play.host.name
            for compiled in [*host_play.tasks, *host_play.handlers]:
                for key in sorted(_reads_of(compiled)):
                    parsed = parse_key(key)
                    if parsed is None:
                        continue
                    kind, host, name = parsed
                    reads.setdefault(reader, []).append((compiled.location, key))
                    if host in waits and host != reader:
                        waits[reader].add(host)
                        requests.setdefault(host, []).append(Request(kind, compiled.location, name))
        order, cycle = _order(names, waits)
        with self._cond:
            self._batch, self._play = names, {hp.host.name for hp in play}
            self._requests, self._reads, self._waits = requests, reads, waits
            self._cycle, self._published, self._left = cycle, {}, set()
        if not reads:
            return group
        by_name = {hp.host.name: hp for hp in group}
        return [by_name[n] for n in order]

    def leave(self, host: str) -> None:
        """A host of the batch is done (or never started): nobody waits for it any more."""
        with self._cond:
            self._left.add(host)
            self._cond.notify_all()

    def watch(self, share: HostShare, tasks: Sequence[Any], stop: threading.Event) -> Watch:
        """Before `host` plans: wait for the plans of the hosts of its batch whose values it
        reads; then its Watch, holding its earlier plays' values and what it reads."""
        host = share.host
        with self._cond:
            initial = dict(self._values.get(host, {}))
            watch = Watch(host, initial, share.earlier, list(self._requests.get(host, [])))
            initial[GIVEN] = watch.deferred
            waits = self._waits.get(host, set()) - self._cycle
            while not all(p in self._published or p in self._left for p in waits):
                if stop.is_set():
                    break
                self._cond.wait(WAIT_SLICE)
            for where, key in self._reads.get(host, []):
                value = self._given(host, where, key)
                watch.inject.setdefault(_at(where), {})[key] = value
        return watch

    def _given(self, reader: str, where: Location, key: str) -> Any:
        """The value `reader` reads under `key` at its task `where` (under the lock)."""
        kind, host, name = _KEYS[key]
        shown = f"{'hostvars' if kind == HOSTVARS else 'run_once'}[{host!r}].{name}"
        at = f"{where}: " if where.file else ""
        if host in self._batch and host != reader:
            if reader in self._cycle and host in self._cycle:
                return Unknown(
                    f"{at}{shown}: {reader} and {host} read each other's values in the same "
                    "play (directly or through other hosts), so neither is known before the "
                    "other plans",
                    "read them in a later play (values set in an earlier play are known)",
                )
            watch = self._published.get(host)
            table = None if watch is None else (watch.before if kind == HOSTVARS else watch.after)
            if table is None or (_at(where), name) not in table:
                return Unknown(
                    f"{at}{shown}: {host} has no plan that reaches this task (it failed or "
                    "was unreachable before, or its tasks differ), so its value is not known",
                    "see that host's report",
                )
            value = table[(_at(where), name)]
            if isinstance(value, Unknown):
                return Unknown(f"{at}{shown}: {value.message}", value.hint)
            if value is DEFER:
                # set in an earlier play, known only at its apply: the run carries it
                return self._values.get(host, {}).get(REG + name, DEFER)
            return value
        if kind == RUN_ONCE:
            return Unknown(
                f"{at}`run_once` with a result: the play's first host {host} runs in another "
                "batch than this host (`serial`), so its result is not known here",
                "remove `serial` from the play, or `run_once` from the task",
            )
        if host in self._play:
            return Unknown(
                f"{at}{shown}: {host} runs in another batch of this play (`serial`), so its "
                "value is not the one Ansible would read here",
                f"read it in a later play (or a play that runs {host} with this host)",
            )
        if host not in self._values:
            return Unknown(
                f"{at}{shown}: {host} has not run in this run (it is in no play so far, or "
                "--limit leaves it out), so its tasks never set `{name}`",
                f"run a play on {host} before this one, or test `{host} in ansible_play_hosts`",
            )
        values = self._values[host]
        if REG + name in values:
            return values[REG + name]
        if name in self._seen.get(host, {}) or name in self.names.get(host, ()):
            return DEFER  # known only at apply of the earlier play: decided at apply
        return UNDEFINED

    def publish(self, watch: Watch) -> None:
        """A host planned: what others read from it is known; its values carry on."""
        with self._cond:
            self._published[watch.host] = watch
            if watch.final is not None:
                self._values[watch.host] = watch.final
            self._seen[watch.host] = dict(watch.seen)
            self._cond.notify_all()

    def carry(self, host: str, facts: Mapping[str, Any]) -> None:
        """After apply: the values the host's play left it (for its later plays)."""
        with self._cond:
            self._values[host] = own_values(facts)


Place = tuple[str, int | None, int | None]


def own_values(facts: Mapping[str, Any]) -> dict[str, Any]:
    """A host's own late values (its registered results, set_fact), not what it read."""
    return {k: v for k, v in facts.items() if k.startswith(REG) and k != GIVEN and k not in _KEYS}


class _Guess(dict):
    """Any late value while looking for what a task reads: every key of it is a _Guess."""

    def __missing__(self, key: object) -> _Guess:
        return _Guess()

    def __str__(self) -> str:
        return ""


class _Lookout(Mapping):
    """Late values as guesses, recording each value of another host a template reads."""

    def __init__(self) -> None:
        self.keys: set[str] = set()

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str) and key.startswith(REG):
            if parse_key(key) is not None:
                self.keys.add(key)
            return True
        return False

    def __getitem__(self, key: str) -> Any:
        if key in self:
            return _Guess()
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def _may_read_hostvars(pending: Any) -> bool:
    """Whether a pending task's `when:` or arguments (as written) may read `hostvars`: the
    guesses below are made only for those (a template file is not looked into: yes)."""
    texts = [repr(c.expression) for c in pending.conditions]
    cells = getattr(pending.build, "__closure__", None) or ()
    raws = [getattr(c.cell_contents, "raw", None) for c in cells]
    raws = [r for r in raws if isinstance(r, dict)]
    if pending.build is not None and not raws:
        return True
    for raw in raws:
        if any(str(k).endswith("template") for k in raw):
            return True
        texts.append(repr(raw))
    return any("hostvars" in text for text in texts)


def _reads_of(compiled: Any) -> set[str]:
    """The other hosts' values a pending task reads: those compile met first, and those
    its conditions and arguments read when every late value is a guess (Jinja looks up a
    template's names before rendering it, so compile stops at the first late one)."""
    pending = compiled.pending
    if pending is None:
        return set()
    found = {g for g in pending.groups if parse_key(g) is not None}
    if not any(g.startswith(REG) for g in pending.groups) or not _may_read_hostvars(pending):
        return found
    lookout = _Lookout()
    for condition in pending.conditions:
        try:
            condition.holds(lookout)
        except Exception:  # noqa: BLE001, S112 - a guess that fails reads no more
            continue
    if pending.build is not None:
        try:
            pending.build(lookout)
        except Exception:  # noqa: BLE001, S110 - a guess that fails reads no more
            pass
    return found | lookout.keys


def _at(location: Location) -> Place:
    """A task's place (file, line, column): the same task on every host of the play."""
    return (location.file, location.line, location.column)


def _order(names: list[str], waits: dict[str, set[str]]) -> tuple[list[str], set[str]]:
    """The hosts, each after those it waits for (in batch order otherwise), and the hosts
    on a cycle (they wait for nobody: their reads of each other are refused)."""
    order: list[str] = []
    placed: set[str] = set()
    left = list(names)
    while left:
        ready = [n for n in left if waits[n] <= placed]
        if not ready:
            break
        for name in ready:
            order.append(name)
            placed.add(name)
        left = [n for n in left if n not in placed]
    cycle = set(left)
    return order + left, cycle
