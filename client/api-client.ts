import type { ActivityView } from "../lib/activity/list-activity.js";
import type { ListUsersQuery } from "../lib/users/list-users.js";
import type { MembershipExport, UserExport } from "../lib/users/user-export.js";
import type { ProfilePatch } from "../lib/users/profile-schemas.js";
import type { UserView } from "../lib/users/user-view.js";

/**
 * A typed fetch client for the React frontend. It runs in the browser: it imports
 * only types from the server code. Pass Clerk's `getToken` (from `useAuth()`); every
 * request carries the session token as a Bearer header, and errors arrive as
 * `ApiError` carrying the problem+json body.
 */

export type { ActivityView, MembershipExport, ProfilePatch, UserExport, UserView };
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
export interface ActivityPage {
  data: ActivityView[];
  nextCursor: string | null;
}
export interface ListActivityParams {
  /** 1–100; the API's default is 20. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}
/** `GET /api/me/export` as a file: the body, and the name the server gave it (`Content-Disposition`). */
export interface ExportFile {
  blob: Blob;
  filename: string | null;
}

export class ApiError extends Error {
  override readonly name = "ApiError";
  /** Seconds to wait before retrying, from the response's `Retry-After` (429, 502, 503), else null. */
  readonly retryAfterSeconds: number | null;
  constructor(
    readonly problem: Problem,
    options: { retryAfterSeconds?: number | null } = {},
  ) {
    super(problem.detail ?? problem.title);
    this.retryAfterSeconds = options.retryAfterSeconds ?? null;
  }
  get status(): number {
    return this.problem.status;
  }
}

/** `Retry-After` as seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === "") return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

/** The file name of a `Content-Disposition: attachment; filename="…"` (or RFC 8187 `filename*=UTF-8''…`). */
export function filenameFromContentDisposition(value: string | null): string | null {
  if (!value) return null;
  const extended = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(value);
  if (extended?.[1]) {
    try {
      return decodeURIComponent(extended[1].trim());
    } catch {
      // fall through to the plain parameter
    }
  }
  const plain = /filename\s*=\s*("((?:[^"\\]|\\.)*)"|[^;\s]+)/i.exec(value);
  if (!plain) return null;
  return plain[2] !== undefined ? plain[2].replace(/\\(.)/g, "$1") : (plain[1] ?? null);
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

  /** Sends the request; a non-2xx answer throws ApiError with its problem+json and Retry-After. */
  async function send(method: string, path: string, body?: unknown): Promise<Response> {
    const token = await options.getToken();
    const headers: Record<string, string> = { accept: "application/json" };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await doFetch(`${baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!response.ok) {
      const payload: unknown = await response.json().catch(() => undefined);
      const problem = (payload as Problem | undefined) ?? { type: "about:blank", title: response.statusText, status: response.status };
      throw new ApiError(problem, { retryAfterSeconds: parseRetryAfter(response.headers.get("retry-after")) });
    }
    return response;
  }

  async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await send(method, path, body);
    return (await response.json().catch(() => undefined)) as T;
  }

  const queryString = (params: Record<string, string | number | boolean | undefined>) => {
    const query = new URLSearchParams(
      Object.entries(params).flatMap(([key, value]): [string, string][] => (value === undefined ? [] : [[key, String(value)]])),
    ).toString();
    return query ? `?${query}` : "";
  };

  return {
    getMe: () => request<UserView>("GET", "/api/me"),
    updateMe: (patch: ProfilePatch) => request<UserView>("PATCH", "/api/me", patch),
    deleteMe: () => request<Deletion>("DELETE", "/api/me"),
    exportMe: () => request<UserExport>("GET", "/api/me/export"),
    /** The export as a file to save, named by the server (a cross-origin app reads `Content-Disposition` only if CORS exposes it). */
    downloadExport: async (): Promise<ExportFile> => {
      const response = await send("GET", "/api/me/export");
      return { blob: await response.blob(), filename: filenameFromContentDisposition(response.headers.get("content-disposition")) };
    },
    listActivity: (params: ListActivityParams = {}) => request<ActivityPage>("GET", `/api/me/activity${queryString({ ...params })}`),
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
