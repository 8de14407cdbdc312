// Hooks over the project's typed client (client/api-client.ts): the API client bound to
// Clerk's session token, and the signed-in user's profile from /api/me.
// Copy into your frontend (React 18+, @clerk/react); import the client from where it lives there.
import { useAuth } from "@clerk/react";
import { useCallback, useEffect, useMemo, useState } from "react";
import { ApiError, createApiClient, type ProfilePatch, type UserView } from "../../client/api-client";

export const apiUrl = import.meta.env.VITE_API_URL || "http://localhost:3000";

/** The client, sending Clerk's session token (`getToken()`) as `Authorization: Bearer`. */
export function useApiClient() {
  const { getToken } = useAuth();
  return useMemo(() => createApiClient({ baseUrl: apiUrl, getToken: () => getToken() }), [getToken]);
}

/**
 * Every failure as an ApiError: the API's problem+json, or, when no response could be read at
 * all (network down, or the browser blocked it: CORS), status 0.
 */
export function asApiError(caught: unknown): ApiError {
  if (caught instanceof ApiError) return caught;
  return new ApiError({
    type: "about:blank",
    title: `Cannot reach the API at ${apiUrl}`,
    status: 0,
    detail: caught instanceof Error ? caught.message : String(caught),
  });
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
      setError(asApiError(caught));
    } finally {
      setLoading(false);
    }
  }, [api, isSignedIn]);

  /** Saves a profile change; throws ApiError (e.g. 400 with `problem.errors`) for the form to show. */
  const update = useCallback(async (patch: ProfilePatch) => setMe(await api.updateMe(patch)), [api]);

  useEffect(() => {
    void reload();
  }, [reload]);

  return { me, error, loading, reload, update };
}
