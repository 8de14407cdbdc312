import { z } from "zod";
import { parseQuery } from "../../../lib/http/parse-query.js";
import { ProblemError } from "../../../lib/http/problem.js";
import { json, type Route, serveRoute } from "../../../lib/http/route.js";
import { getServices } from "../../../lib/get-services.js";

const querySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(50),
    cursor: z
      .string()
      .regex(/^[0-9a-f]{24}$/, "must be a cursor returned by a previous page")
      .optional(),
  })
  .strict();

/** GET /api/users/:id/history (admins): the sync audit trail of one user, newest first. */
export const userHistoryRoute: Route = {
  name: "user-history",
  access: "admin",
  methods: {
    GET: async ({ url, services }) => {
      const id = decodeURIComponent(url.pathname.split("/").filter(Boolean).at(-2) ?? "");
      if (!/^[A-Za-z0-9_]{1,128}$/.test(id)) throw new ProblemError("invalidQuery", { extensions: { errors: ["id: not a Clerk user id"] } });
      const { limit, cursor } = parseQuery(url, querySchema);
      const records = await services.audit.history(id, { limit: limit + 1, beforeId: cursor });
      const page = records.slice(0, limit);
      const data = page.map(({ _id, ...record }) => ({ id: String(_id), ...record }));
      return json(200, { data, nextCursor: records.length > limit ? String(page.at(-1)?._id) : null });
    },
  },
};

export default serveRoute(userHistoryRoute, getServices);
