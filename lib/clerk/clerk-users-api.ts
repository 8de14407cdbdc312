import type { ClerkClient } from "@clerk/backend";
import { isClerkAPIResponseError } from "@clerk/backend/errors";
import type { UserJSON } from "@clerk/backend";

/** The slice of Clerk's Backend API the user API needs. */
export interface ClerkUsersApi {
  /** Clerk's user JSON, or `null` when Clerk has no such user. */
  getUser(userId: string): Promise<UserJSON | null>;
  /** Deletes the user in Clerk; `not-found` when Clerk already has no such user. */
  deleteUser(userId: string): Promise<"deleted" | "not-found">;
}

export class ClerkUnavailableError extends Error {
  override readonly name = "ClerkUnavailableError";
}

export function createClerkUsersApi(client: ClerkClient): ClerkUsersApi {
  return {
    async getUser(userId) {
      try {
        const user = await client.users.getUser(userId);
        return user.raw;
      } catch (error) {
        if (isNotFound(error)) return null;
        throw new ClerkUnavailableError(`Clerk getUser failed: ${describe(error)}`, { cause: error });
      }
    },
    async deleteUser(userId) {
      try {
        await client.users.deleteUser(userId);
        return "deleted";
      } catch (error) {
        if (isNotFound(error)) return "not-found";
        throw new ClerkUnavailableError(`Clerk deleteUser failed: ${describe(error)}`, { cause: error });
      }
    },
  };
}

function isNotFound(error: unknown): boolean {
  return isClerkAPIResponseError(error) && error.status === 404;
}

function describe(error: unknown): string {
  if (isClerkAPIResponseError(error)) return `HTTP ${error.status}`;
  return error instanceof Error ? error.message : String(error);
}
