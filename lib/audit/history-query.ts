import { z } from "zod";

/**
 * GET /api/users/:id/history query. Strict: an unknown parameter is a 400, not ignored. The
 * cursor is the `_id` (an ObjectId, 24 hex digits) of the last record of the previous page.
 */
export const userHistoryQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(50),
    cursor: z
      .string()
      .regex(/^[0-9a-f]{24}$/, "must be a cursor returned by a previous page")
      .meta({ description: "The `nextCursor` of the previous page (24 hex digits)." })
      .optional(),
  })
  .strict();
