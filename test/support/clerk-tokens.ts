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
