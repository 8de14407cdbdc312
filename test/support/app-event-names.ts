/**
 * Every app event the deployed `publish-app-events` function is triggered by, written out: a
 * rename is a contract change for consumers (and for Inngest's function history), so tests
 * compare the code with this list, not with itself.
 */
export const deployedAppEventNames = [
  "app/user.created",
  "app/user.updated",
  "app/user.deleted",
  "app/user.signed_in",
  "app/user.signed_out",
  "app/organization.created",
  "app/organization.updated",
  "app/organization.deleted",
  "app/membership.created",
  "app/membership.updated",
  "app/membership.deleted",
] as const;
