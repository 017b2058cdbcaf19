"""Officials and moderators, and the single-use invitations that make someone an official."""

from __future__ import annotations

from datetime import datetime

from storage.backend import Backend
from storage.clock import Clock, timestamp
from storage.records import Invitation, OpenInvitation, StoredRole

# An invitation works only while whoever created it is a moderator (the environment's moderators
# are copied into roles at every start, see RoleRepository.sync_environment).
_CREATOR_IS_MODERATOR = ("EXISTS (SELECT 1 FROM roles WHERE roles.user_id = invitations.created_by"
                         " AND roles.role = 'moderator')")


class RoleRepository:
    """Stored roles; everyone without one is a citizen."""

    def __init__(self, backend: Backend, clock: Clock) -> None:
        self._backend = backend
        self._clock = clock

    async def get(self, user_id: int) -> StoredRole | None:
        rows = await self._backend.fetch(
            "SELECT user_id, role, agency FROM roles WHERE user_id = ?", (user_id,))
        return StoredRole(rows[0]["user_id"], rows[0]["role"], rows[0]["agency"]) if rows else None

    async def grant(self, user_id: int, role: str, agency: str | None, granted_by: int | None) -> None:
        """Give (or change) a user's role."""
        await self._backend.fetch(
            "INSERT INTO roles (user_id, role, agency, granted_by, granted_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET role = excluded.role, agency = excluded.agency,"
            " granted_by = excluded.granted_by, granted_at = excluded.granted_at",
            (user_id, role, agency, granted_by, timestamp(self._clock)),
        )

    async def revoke(self, user_id: int) -> StoredRole | None:
        """Take away a role granted in the bot; None when there is none (or the environment
        manages it: only BARAZA_MODERATORS can take that one away)."""
        rows = await self._backend.fetch(
            "DELETE FROM roles WHERE user_id = ? AND managed_by_env = 0"
            " RETURNING user_id, role, agency", (user_id,))
        return StoredRole(rows[0]["user_id"], rows[0]["role"], rows[0]["agency"]) if rows else None

    async def managed_by_environment(self, user_id: int) -> bool:
        rows = await self._backend.fetch(
            "SELECT 1 FROM roles WHERE user_id = ? AND managed_by_env = 1", (user_id,))
        return bool(rows)

    async def granted(self) -> list[StoredRole]:
        """Officials and moderators added in the bot (not the environment's), officials first."""
        rows = await self._backend.fetch(
            "SELECT user_id, role, agency FROM roles WHERE managed_by_env = 0"
            " ORDER BY role DESC, user_id")
        return [StoredRole(r["user_id"], r["role"], r["agency"]) for r in rows]

    async def sync_environment(self, moderators: frozenset[int]) -> list[int]:
        """Make the stored environment moderators exactly ``moderators``; the ids removed.

        An id removed from BARAZA_MODERATORS loses its role here even if it was also added with
        /addmoderator: the environment manages it from the moment it is listed there.
        """
        async with self._backend.transaction():
            stored = await self._backend.fetch(
                "SELECT user_id FROM roles WHERE managed_by_env = 1")
            removed = sorted(r["user_id"] for r in stored if r["user_id"] not in moderators)
            for user_id in removed:
                await self._backend.fetch("DELETE FROM roles WHERE user_id = ?", (user_id,))
            for user_id in sorted(moderators):
                await self._backend.fetch(
                    "INSERT INTO roles (user_id, role, agency, granted_by, granted_at,"
                    " managed_by_env) VALUES (?, 'moderator', NULL, NULL, ?, 1)"
                    " ON CONFLICT (user_id) DO UPDATE SET role = 'moderator', agency = NULL,"
                    " managed_by_env = 1",
                    (user_id, timestamp(self._clock)),
                )
        return removed


class InvitationRepository:
    """Invitations are stored by the hash of their token; redeeming one uses it up."""

    def __init__(self, backend: Backend, clock: Clock) -> None:
        self._backend = backend
        self._clock = clock

    async def create(self, token_hash: str, agency: str | None, created_by: int,
                     expires_at: datetime) -> None:
        await self._backend.fetch(
            "INSERT INTO invitations (token_hash, agency, created_by, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (token_hash, agency, created_by, timestamp(self._clock), timestamp(lambda: expires_at)),
        )

    async def redeem(self, token_hash: str, user_id: int) -> Invitation | None:
        """Use the invitation up for ``user_id``: None when unknown, used or expired, or when
        its creator is no longer a moderator."""
        now = timestamp(self._clock)
        rows = await self._backend.fetch(
            "UPDATE invitations SET used_by = ?, used_at = ?"
            " WHERE token_hash = ? AND used_by IS NULL AND expires_at > ?"
            f" AND {_CREATOR_IS_MODERATOR} RETURNING agency, created_by, expires_at",
            (user_id, now, token_hash, now),
        )
        if not rows:
            return None
        row = rows[0]
        return Invitation(row["agency"], row["created_by"], datetime.fromisoformat(row["expires_at"]))

    async def open(self) -> list[OpenInvitation]:
        """Invitations that still work: unused, unexpired, their creator still a moderator."""
        rows = await self._backend.fetch(
            "SELECT token_hash, agency, created_by, expires_at FROM invitations"
            f" WHERE used_by IS NULL AND expires_at > ? AND {_CREATOR_IS_MODERATOR}"
            " ORDER BY created_at", (timestamp(self._clock),))
        return [OpenInvitation(r["token_hash"][:OpenInvitation.KEY_LENGTH], r["agency"],
                               r["created_by"], datetime.fromisoformat(r["expires_at"]))
                for r in rows]

    async def cancel(self, key: str) -> bool:
        """Withdraw an unused invitation named by the start of its hash; False when none."""
        if len(key) != OpenInvitation.KEY_LENGTH:
            return False
        return bool(await self._backend.fetch(
            "DELETE FROM invitations WHERE substr(token_hash, 1, ?) = ? AND used_by IS NULL"
            " RETURNING token_hash", (OpenInvitation.KEY_LENGTH, key)))
