// A React hook over the typed client: the signed-in user's profile from /api/me.
// Copy into your frontend (React 18+, @clerk/clerk-react or @clerk/nextjs).
import { useAuth } from "@clerk/clerk-react";
import { useCallback, useEffect, useMemo, useState } from "react";
import { ApiError, createApiClient, type ProfilePatch, type UserView } from "clerk-mongo-sync/lib/client/api-client";

export function useApiClient() {
  const { getToken } = useAuth();
  return useMemo(() => createApiClient({ baseUrl: import.meta.env.VITE_API_URL ?? "", getToken: () => getToken() }), [getToken]);
}

export function useMe() {
  const { isSignedIn } = useAuth();
  const api = useApiClient();
  const [me, setMe] = useState<UserView | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(false);

  const reload = useCallback(async () => {
    if (!isSignedIn) return;
    setLoading(true);
    try {
      setMe(await api.getMe()); // the first request after sign-up succeeds: the API fetches you from Clerk if needed
      setError(null);
    } catch (caught) {
      if (caught instanceof ApiError) setError(caught);
      else throw caught;
    } finally {
      setLoading(false);
    }
  }, [api, isSignedIn]);

  const update = useCallback(async (patch: ProfilePatch) => setMe(await api.updateMe(patch)), [api]);

  useEffect(() => {
    void reload();
  }, [reload]);

  return { me, error, loading, reload, update };
}
