import { exportSPKI, generateKeyPair, SignJWT } from "jose";

export const frontendApiHost = "clerk.app.example.test";
export const testPublishableKey = `pk_test_${Buffer.from(`${frontendApiHost}$`).toString("base64")}`;
export const testSecretKey = "sk_test_clerk_mongo_sync_0123456789";
export const frontendOrigin = "https://app.example.test";

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

export interface TokenOptions {
  userId: string;
  /** Seconds relative to now. */
  expiresIn?: number;
  notBefore?: number;
  issuedAt?: number;
  azp?: string | null;
  metadata?: Record<string, unknown>;
  key?: KeyPair["privateKey"];
  /**
   * The active organization, as Clerk's v2 session token carries it (`o` and `fea`): `role`
   * without the `org:` prefix, `features` mapping a feature to its granted permissions
   * (`{ sys_memberships: ["manage"] }` grants `org:sys_memberships:manage`).
   */
  organization?: { id: string; slug?: string; role: string; features?: Record<string, string[]> };
}

/** Clerk's v2 encoding of organization permissions: a permission list, and per feature a bitmap over it, in decimal. */
function organizationClaims(organization: NonNullable<TokenOptions["organization"]>) {
  const features = Object.keys(organization.features ?? {});
  const permissions = [...new Set(Object.values(organization.features ?? {}).flat())];
  const bitmaps = features.map((feature) =>
    permissions.reduce((bits, permission, index) => bits + (organization.features?.[feature]?.includes(permission) ? 2 ** index : 0), 0),
  );
  return {
    o: {
      id: organization.id,
      slg: organization.slug ?? organization.id,
      rol: organization.role,
      ...(permissions.length > 0 && { per: permissions.join(","), fpm: bitmaps.join(",") }),
    },
    ...(features.length > 0 && { fea: features.map((feature) => `o:${feature}`).join(",") }),
  };
}

/** An RS256 key pair made for the test run, and Clerk-shaped session tokens signed with it. */
export async function createTokenFactory() {
  const keys = await generateKeyPair("RS256", { extractable: true });
  const otherKeys = await generateKeyPair("RS256", { extractable: true });
  const jwtKey = await exportSPKI(keys.publicKey);

  async function sign(options: TokenOptions): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = { sid: `sess_${options.userId}`, v: 2 };
    if (options.azp !== null) claims.azp = options.azp ?? frontendOrigin;
    if (options.metadata) claims.metadata = options.metadata;
    if (options.organization) Object.assign(claims, organizationClaims(options.organization));
    return new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", kid: "ins_test", typ: "JWT" })
      .setSubject(options.userId)
      .setIssuer(`https://${frontendApiHost}`)
      .setIssuedAt(now + (options.issuedAt ?? -5))
      .setNotBefore(now + (options.notBefore ?? -5))
      .setExpirationTime(now + (options.expiresIn ?? 60))
      .sign(options.key ?? keys.privateKey);
  }

  return { jwtKey, sign, otherPrivateKey: otherKeys.privateKey };
}
