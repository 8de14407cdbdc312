import { useState } from "react";
import type { ApiError } from "../../client/api-client";
import { ProblemNotice } from "./ProblemNotice";
import { asApiError, useApiClient } from "./useMe";

/** GET /api/me/export: everything stored about you, saved under the name the server gives it. */
export function ExportData() {
  const api = useApiClient();
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  async function download() {
    setBusy(true);
    try {
      const { blob, filename } = await api.downloadExport();
      // Without the server's name (a cross-origin response exposes Content-Disposition only if CORS allows), a generic one.
      const name = filename ?? "account-export.json";
      const url = URL.createObjectURL(blob);
      const link = Object.assign(document.createElement("a"), { href: url, download: name });
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setSaved(name);
      setError(null);
    } catch (caught) {
      setError(asApiError(caught));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="export-title">
      <h2 id="export-title">Your data</h2>
      <button type="button" onClick={() => void download()} disabled={busy}>
        {busy ? "Preparing…" : "Download my data"}
      </button>
      {saved && <span role="status"> Saved as {saved}.</span>}
      {error && <ProblemNotice error={error} onRetry={() => void download()} />}
    </section>
  );
}

/** DELETE /api/me, after an explicit confirmation: deletes the account in Clerk and here. */
export function DeleteAccount({ onDeleted }: { onDeleted: () => void }) {
  const api = useApiClient();
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  async function remove() {
    setBusy(true);
    try {
      await api.deleteMe();
      onDeleted();
    } catch (caught) {
      setError(asApiError(caught));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="delete-title" className="danger">
      <h2 id="delete-title">Delete account</h2>
      {!confirming ? (
        <button type="button" onClick={() => setConfirming(true)}>
          Delete my account…
        </button>
      ) : (
        <div role="alertdialog" aria-labelledby="delete-confirm">
          <p id="delete-confirm">This deletes your account and signs you out. It cannot be undone. Delete it?</p>
          <button type="button" className="destructive" onClick={() => void remove()} disabled={busy}>
            {busy ? "Deleting…" : "Yes, delete my account"}
          </button>{" "}
          <button type="button" onClick={() => (setConfirming(false), setError(null))} disabled={busy}>
            Cancel
          </button>
        </div>
      )}
      {error && <ProblemNotice error={error} onRetry={() => void remove()} />}
    </section>
  );
}
