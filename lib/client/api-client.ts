import type { ListUsersQuery } from "../users/list-users.js";
import type { ProfilePatch, UserView } from "../users/user-view.js";

/**
 * A typed fetch client for the React frontend. It runs in the browser: it imports
 * only types from the server code. Pass Clerk's `getToken` (from `useAuth()`); every
 * request carries the session token as a Bearer header, and errors arrive as
 * `ApiError` carrying the problem+json body.
 */

export type { ProfilePatch, UserView };
export interface UserPage {
  data: UserView[];
  nextCursor: string | null;
}
export interface Deletion {
  deleted: true;
  clerk: "deleted" | "not-found";
  localData: "tombstoned" | "pending-webhook";
}
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: string[];
}
export type ListUsersParams = Partial<Omit<ListUsersQuery, "limit">> & { limit?: number };

export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title);
  }
  get status(): number {
    return this.problem.status;
  }
}

export interface ApiClientOptions {
  /** Where the API is served; "" for the same origin. */
  baseUrl?: string;
  /** Clerk's `getToken` from `useAuth()`. */
  getToken: () => Promise<string | null>;
  fetch?: typeof fetch;
}

export function createApiClient(options: ApiClientOptions) {
  const baseUrl = options.baseUrl ?? "";
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));

  async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const token = await options.getToken();
    const headers: Record<string, string> = { accept: "application/json" };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await doFetch(`${baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const payload: unknown = await response.json().catch(() => undefined);
    if (!response.ok) {
      const problem = (payload as Problem | undefined) ?? { type: "about:blank", title: response.statusText, status: response.status };
      throw new ApiError(problem);
    }
    return payload as T;
  }

  return {
    getMe: () => request<UserView>("GET", "/api/me"),
    updateMe: (patch: ProfilePatch) => request<UserView>("PATCH", "/api/me", patch),
    deleteMe: () => request<Deletion>("DELETE", "/api/me"),
    exportMe: () => request<{ exportedAt: string; user: Record<string, unknown> }>("GET", "/api/me/export"),
    listUsers: (params: ListUsersParams = {}) => {
      const query = new URLSearchParams(
        Object.entries(params).flatMap(([key, value]): [string, string][] => (value === undefined ? [] : [[key, String(value)]])),
      ).toString();
      return request<UserPage>("GET", `/api/users${query ? `?${query}` : ""}`);
    },
    getUser: (id: string) => request<UserView>("GET", `/api/users/${encodeURIComponent(id)}`),
  };
}

export type ApiClient = ReturnType<typeof createApiClient>;
