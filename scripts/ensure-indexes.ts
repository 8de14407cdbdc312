/**
 * `npm run db:indexes`: builds the indexes the schemas declare. Serverless functions do
 * not build indexes at start-up (autoIndex is off: it would slow every cold start), so run
 * this once per deployment that changes a schema. Reads .env if present; needs MONGODB_URI.
 */
import { existsSync } from "node:fs";
import { activityModelFor } from "../lib/activity/activity-model.js";
import { createAuditLog } from "../lib/audit/audit-log.js";
import { ConfigError, parseSyncCliConfig } from "../lib/config.js";
import { closeMongoConnections, connectMongo } from "../lib/db/connection.js";
import { membershipModelFor } from "../lib/organizations/membership-model.js";
import { organizationModelFor } from "../lib/organizations/organization-model.js";
import { userModelFor } from "../lib/users/user-model.js";

if (existsSync(".env")) process.loadEnvFile(".env");
try {
  const config = parseSyncCliConfig({ CLERK_SECRET_KEY: "sk_test_unused", ...process.env });
  const connection = await connectMongo(config.mongo);
  createAuditLog(connection); // registers the audit model on this connection
  const models = [userModelFor(connection), activityModelFor(connection), organizationModelFor(connection), membershipModelFor(connection), connection.models.SyncAudit];
  for (const model of models) {
    if (!model) continue;
    await model.createIndexes();
    console.log(`${model.collection.collectionName}: ${Object.keys(await model.collection.indexInformation()).join(", ")}`);
  }
  await closeMongoConnections();
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(error instanceof ConfigError ? 2 : 1);
}
