"""Officials and moderators, and the single-use invitations that make someone an official."""

from __future__ import annotations

from datetime import datetime

from storage.clock import Clock, timestamp
from storage.connection import Connection
from storage.records import Invitation, StoredRole


class RoleRepository:
    """Stored roles; everyone without one is a citizen."""

    def __init__(self, connection: Connection, clock: Clock) -> None:
        self._connection = connection
        self._clock = clock

    async def get(self, user_id: int) -> StoredRole | None:
        rows = await self._connection.fetch(
            "SELECT user_id, role, agency FROM roles WHERE user_id = ?", (user_id,))
        return StoredRole(rows[0]["user_id"], rows[0]["role"], rows[0]["agency"]) if rows else None

    async def grant(self, user_id: int, role: str, agency: str | None, granted_by: int | None) -> None:
        """Give (or change) a user's role."""
        await self._connection.write(
            "INSERT INTO roles (user_id, role, agency, granted_by, granted_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET role = excluded.role, agency = excluded.agency,"
            " granted_by = excluded.granted_by, granted_at = excluded.granted_at",
            (user_id, role, agency, granted_by, timestamp(self._clock)),
        )


class InvitationRepository:
    """Invitations are stored by the hash of their token; redeeming one uses it up."""

    def __init__(self, connection: Connection, clock: Clock) -> None:
        self._connection = connection
        self._clock = clock

    async def create(self, token_hash: str, agency: str | None, created_by: int,
                     expires_at: datetime) -> None:
        await self._connection.write(
            "INSERT INTO invitations (token_hash, agency, created_by, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (token_hash, agency, created_by, timestamp(self._clock), timestamp(lambda: expires_at)),
        )

    async def redeem(self, token_hash: str, user_id: int) -> Invitation | None:
        """Use the invitation up for ``user_id``: None when unknown, used or expired."""
        now = timestamp(self._clock)
        rows = await self._connection.write(
            "UPDATE invitations SET used_by = ?, used_at = ?"
            " WHERE token_hash = ? AND used_by IS NULL AND expires_at > ?"
            " RETURNING agency, created_by, expires_at",
            (user_id, now, token_hash, now),
        )
        if not rows:
            return None
        row = rows[0]
        return Invitation(row["agency"], row["created_by"], datetime.fromisoformat(row["expires_at"]))
