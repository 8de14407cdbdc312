import { type FormEvent, useState } from "react";
import type { ApiError, ProfilePatch, UserView } from "../../client/api-client";
import { ProblemNotice } from "./ProblemNotice";
import { asApiError } from "./useMe";

/** GET /api/me: who you are, as the API stores it (Clerk's fields and your own profile). */
export function ProfileCard({ me, loading, onRefresh }: { me: UserView; loading: boolean; onRefresh: () => void }) {
  const name = [me.firstName, me.lastName].filter(Boolean).join(" ") || me.username || me.id;
  return (
    <section aria-labelledby="profile-title">
      <h2 id="profile-title">Profile</h2>
      <dl className="fields">
        <dt>Name</dt>
        <dd data-testid="name">{name}</dd>
        <dt>Email</dt>
        <dd data-testid="email">{me.email ?? "none"}</dd>
        <dt>Display name</dt>
        <dd data-testid="display-name">{me.profile.displayName ?? "not set"}</dd>
        <dt>Bio</dt>
        <dd data-testid="bio">{me.profile.bio ?? "not set"}</dd>
        <dt>Member since</dt>
        <dd>{me.clerkCreatedAt ? new Date(me.clerkCreatedAt).toLocaleDateString() : "unknown"}</dd>
      </dl>
      <button type="button" onClick={onRefresh} disabled={loading}>
        {loading ? "Refreshing…" : "Refresh"}
      </button>
    </section>
  );
}

/**
 * PATCH /api/me: display name and bio. The server validates (its errors are shown as sent,
 * one per line); an emptied field is sent as `null`, which clears it.
 */
export function EditProfile({ me, onSave }: { me: UserView; onSave: (patch: ProfilePatch) => Promise<void> }) {
  const [displayName, setDisplayName] = useState(me.profile.displayName ?? "");
  const [bio, setBio] = useState(me.profile.bio ?? "");
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState(false);

  async function save() {
    setSaving(true);
    setSaved(false);
    try {
      await onSave({ displayName: displayName.trim() === "" ? null : displayName, bio: bio === "" ? null : bio });
      setError(null);
      setSaved(true);
    } catch (caught) {
      setError(asApiError(caught));
    } finally {
      setSaving(false);
    }
  }

  return (
    <section aria-labelledby="edit-title">
      <h2 id="edit-title">Edit profile</h2>
      <form
        onSubmit={(event: FormEvent) => {
          event.preventDefault();
          void save();
        }}
      >
        <label>
          Display name
          <input name="displayName" value={displayName} onChange={(event) => setDisplayName(event.target.value)} />
        </label>
        <label>
          Bio <small>({bio.length}/500)</small>
          <textarea name="bio" rows={3} value={bio} onChange={(event) => setBio(event.target.value)} />
        </label>
        <button type="submit" disabled={saving}>
          {saving ? "Saving…" : "Save"}
        </button>
        {saved && <span role="status"> Saved.</span>}
      </form>
      {error && <ProblemNotice error={error} onRetry={() => void save()} />}
    </section>
  );
}
