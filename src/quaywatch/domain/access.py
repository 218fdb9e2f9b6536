"""Who may do what: roles, permissions, and the principal a request or a command acts as.

One table, ``ROLE_PERMISSIONS``, says which role holds which permission; the services check it
(``Principal.require``) and the adapters (API, web, CLI) only pass the caller along. The table
is printed in ``docs/permissions.md`` (a test keeps the two equal).

Least privilege: a person gets the roles of their work, and several where they do several
jobs. The administrator manages accounts, the quarantine and the audit trail, and takes no
customs decision; the feed role is for systems (carriers, the port community system, the
declaration system) posting data, and reads nothing but what it posted; the partner node role
is for a partner administration's quaywatch node delivering signed messages to the inbox, and
reads nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from quaywatch.errors import PermissionDeniedError


class Role(StrEnum):
    """The roles of quaywatch's users (people) and of machine accounts (feeds, partner nodes)."""

    ANALYST = "analyst"
    TARGETING_OFFICER = "targeting_officer"
    INSPECTOR = "inspector"
    MANAGER = "manager"
    PARTNER_LIAISON = "partner_liaison"
    ADMIN = "admin"
    FEED = "feed"
    PARTNER_NODE = "partner_node"


class Permission(StrEnum):
    """One kind of action on one kind of object (``PERMISSION_HELP`` says what each allows)."""

    DATA_SUBMIT = "data:submit"
    ASSESSMENT_READ = "assessment:read"
    ASSESSMENT_RUN = "assessment:run"
    MODEL_TRAIN = "model:train"
    SELECTION_READ = "selection:read"
    SELECTION_RUN = "selection:run"
    SELECTION_DECIDE = "selection:decide"
    ORDER_READ = "order:read"
    ORDER_CREATE = "order:create"
    ORDER_WORK = "order:work"
    ORDER_OVERRIDE = "order:override"
    PROFILE_READ = "profile:read"
    PROFILE_WRITE = "profile:write"
    PROFILE_ACTIVATE = "profile:activate"
    WATCHLIST_READ = "watchlist:read"
    WATCHLIST_WRITE = "watchlist:write"
    KPI_READ = "kpi:read"
    LAB_RUN = "lab:run"
    QUARANTINE_READ = "quarantine:read"
    QUARANTINE_RETRY = "quarantine:retry"
    AUDIT_READ = "audit:read"
    ACCOUNT_MANAGE = "account:manage"
    EXCHANGE = "exchange"
    EXCHANGE_DELIVER = "exchange:deliver"


#: What each permission allows, in words (the table in ``docs/permissions.md``).
PERMISSION_HELP: dict[Permission, str] = {
    Permission.DATA_SUBMIT: (
        "post consignments, container events, control outcomes, carrier documents"
    ),
    Permission.ASSESSMENT_READ: "read assessments, their reasons and history",
    Permission.ASSESSMENT_RUN: "score a period",
    Permission.MODEL_TRAIN: "train and promote models",
    Permission.SELECTION_READ: "read selection runs and their worklists",
    Permission.SELECTION_RUN: "select controls within capacity",
    Permission.SELECTION_DECIDE: (
        "override a consignment's lane with a reason code, instruct the examiners, open and "
        "close referrals"
    ),
    Permission.ORDER_READ: "read inspection orders and their dossiers",
    Permission.ORDER_CREATE: "turn a selection run into inspection orders",
    Permission.ORDER_WORK: "start an order, record the scan, findings and outcome",
    Permission.ORDER_OVERRIDE: "change an order's control type with a reason",
    Permission.PROFILE_READ: "read risk profiles",
    Permission.PROFILE_WRITE: "create profile drafts, validate them, test them on a period",
    Permission.PROFILE_ACTIVATE: "activate and retire risk profiles",
    Permission.WATCHLIST_READ: "list watchlists, screen names",
    Permission.WATCHLIST_WRITE: "load a watchlist",
    Permission.KPI_READ: "read the KPIs",
    Permission.LAB_RUN: "run the policy lab's simulations and read their results",
    Permission.QUARANTINE_READ: "read the quarantine",
    Permission.QUARANTINE_RETRY: "retry quarantined records",
    Permission.AUDIT_READ: "verify the audit chain, read the trail",
    Permission.ACCOUNT_MANAGE: "manage users, and the tokens of others",
    Permission.EXCHANGE: (
        "exchange messages with partner administrations: read the inbox, the rejected messages "
        "and the outbox, send a message, list the partners"
    ),
    Permission.EXCHANGE_DELIVER: (
        "deliver signed messages to this administration's inbox (a partner's quaywatch node)"
    ),
}


_P = Permission
#: Which role holds which permission.
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ANALYST: frozenset({
        _P.ASSESSMENT_READ, _P.ASSESSMENT_RUN, _P.MODEL_TRAIN, _P.SELECTION_READ, _P.ORDER_READ,
        _P.PROFILE_READ, _P.PROFILE_WRITE, _P.PROFILE_ACTIVATE, _P.WATCHLIST_READ,
        _P.WATCHLIST_WRITE, _P.KPI_READ, _P.LAB_RUN,
    }),
    Role.TARGETING_OFFICER: frozenset({
        _P.ASSESSMENT_READ, _P.SELECTION_READ, _P.SELECTION_RUN, _P.ORDER_READ, _P.ORDER_CREATE,
        _P.ORDER_OVERRIDE, _P.SELECTION_DECIDE, _P.PROFILE_READ, _P.WATCHLIST_READ,
        _P.KPI_READ,
    }),
    Role.INSPECTOR: frozenset({_P.ORDER_READ, _P.ORDER_WORK}),
    Role.MANAGER: frozenset({_P.KPI_READ, _P.LAB_RUN, _P.AUDIT_READ}),
    Role.PARTNER_LIAISON: frozenset({_P.ASSESSMENT_READ, _P.WATCHLIST_READ, _P.EXCHANGE}),
    Role.ADMIN: frozenset({
        _P.QUARANTINE_READ, _P.QUARANTINE_RETRY, _P.AUDIT_READ, _P.ACCOUNT_MANAGE,
    }),
    Role.FEED: frozenset({_P.DATA_SUBMIT}),
    Role.PARTNER_NODE: frozenset({_P.EXCHANGE_DELIVER}),
}  # fmt: skip

#: Roles whose orders are limited to the terminals of the person (``Principal.terminals``).
TERMINAL_BOUND = frozenset({Role.INSPECTOR})


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is acting: a user (by password or session) or a token of a user, with its roles.

    ``roles`` are those in force for this request (a token may carry fewer than its user);
    ``terminals`` limit an inspector's orders (empty: no terminal, hence no order) unless
    ``all_terminals``; ``token_id`` names the token used, if any; ``partner``: the partner
    administration a ``partner_node`` token delivers for (only that partner's messages).
    """

    name: str
    roles: frozenset[Role]
    terminals: frozenset[str] = field(default_factory=frozenset)
    all_terminals: bool = False
    token_id: str | None = None
    partner: str | None = None

    @property
    def permissions(self) -> frozenset[Permission]:
        """Every permission one of the roles holds."""
        return frozenset().union(*(ROLE_PERMISSIONS[r] for r in self.roles))

    def allows(self, permission: Permission) -> bool:
        """Whether one of the roles holds ``permission``."""
        return permission in self.permissions

    def require(self, permission: Permission) -> None:
        """Raise ``PermissionDeniedError`` unless one of the roles holds ``permission``."""
        if not self.allows(permission):
            held = ", ".join(sorted(self.roles)) or "no role"
            raise PermissionDeniedError(f"{self.name} ({held}) may not {permission.value}")

    def bound_to_terminals(self, permission: Permission) -> bool:
        """Whether ``permission`` is held only through a terminal-bound role (an inspector's)."""
        return self.allows(permission) and all(
            permission not in ROLE_PERMISSIONS[r] for r in self.roles - TERMINAL_BOUND
        )

    def may_act_at(self, permission: Permission, terminal: str) -> bool:
        """Whether ``permission`` is held for objects of ``terminal``."""
        if not self.allows(permission):
            return False
        bound = self.bound_to_terminals(permission) and not self.all_terminals
        return not bound or terminal in self.terminals

    def require_terminal(self, permission: Permission, terminal: str) -> None:
        """``require(permission)``, and, where only an inspector's role grants it, that
        ``terminal`` is one of this principal's."""
        self.require(permission)
        if not self.may_act_at(permission, terminal):
            raise PermissionDeniedError(
                f"{self.name} may not {permission.value} at terminal {terminal}: "
                "not one of their terminals"
            )


#: The principal of the command line and of other local processes trusted as the operator.
def local_operator(name: str) -> Principal:
    """A principal with every role: the operator at the machine (the CLI's own commands)."""
    return Principal(name=name, roles=frozenset(Role), all_terminals=True)


def permission_table_markdown() -> str:
    """``ROLE_PERMISSIONS`` as a Markdown table: one row per permission, one column per role.

    ``docs/permissions.md`` holds exactly this table (a test compares them), so the page and
    the code cannot drift apart.
    """
    roles = list(Role)
    lines = [
        "| permission | allows | " + " | ".join(f"`{r.value}`" for r in roles) + " |",
        "|---|---|" + "|".join(":-:" for _ in roles) + "|",
    ]
    for p in Permission:
        marks = " | ".join("✓" if p in ROLE_PERMISSIONS[r] else " " for r in roles)
        lines.append(f"| `{p.value}` | {PERMISSION_HELP[p]} | {marks} |")
    return "\n".join(lines) + "\n"
