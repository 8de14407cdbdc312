/**
 * A membership's `_id`: one document per (organization, user) pair. Its own module, free of
 * Mongoose, so the organization routes load without the database driver (cold starts).
 */
export const membershipKey = (organizationId: string, userId: string) => `${organizationId}:${userId}`;
