import { useCallback, useEffect, useState } from "react";
import type { ActivityView, ApiError } from "../../client/api-client";
import { ProblemNotice } from "./ProblemNotice";
import { asApiError, useApiClient } from "./useMe";

const pageSize = 10;
const kindLabels: Record<ActivityView["kind"], string> = {
  signed_in: "Signed in",
  ended: "Signed out",
  removed: "Session removed",
  revoked: "Session revoked",
};

/** GET /api/me/activity: your sign-ins and sign-outs, newest first, a page at a time (`cursor`). */
export function Activity() {
  const api = useApiClient();
  const [records, setRecords] = useState<ActivityView[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  const load = useCallback(
    async (after: string | null) => {
      setLoading(true);
      try {
        const page = await api.listActivity({ limit: pageSize, ...(after && { cursor: after }) });
        setRecords((shown) => (after ? [...shown, ...page.data] : page.data));
        setCursor(page.nextCursor);
        setDone(page.nextCursor === null);
        setError(null);
      } catch (caught) {
        setError(asApiError(caught));
      } finally {
        setLoading(false);
      }
    },
    [api],
  );

  useEffect(() => {
    void load(null);
  }, [load]);

  return (
    <section aria-labelledby="activity-title">
      <h2 id="activity-title">Sign-in activity</h2>
      {records.length === 0 && done && <p>No sign-ins recorded yet.</p>}
      <ol className="activity">
        {records.map((record) => (
          <li key={`${record.sessionId}:${record.kind}`} data-session-id={record.sessionId} data-kind={record.kind}>
            <strong>{kindLabels[record.kind]}</strong> <time dateTime={record.at}>{new Date(record.at).toLocaleString()}</time>
            <small>
              {record.clientIp ?? "unknown IP"} · {record.userAgent ?? "unknown browser"} · {record.sessionId}
            </small>
          </li>
        ))}
      </ol>
      {error && <ProblemNotice error={error} onRetry={() => void load(records.length > 0 ? cursor : null)} />}
      {!done && !error && records.length > 0 && (
        <button type="button" onClick={() => void load(cursor)} disabled={loading}>
          {loading ? "Loading…" : "Load more"}
        </button>
      )}
    </section>
  );
}
