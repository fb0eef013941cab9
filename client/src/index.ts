export { AuthClient } from "./auth-client.js";
export { AuthClientError, UntrustedOriginError } from "./errors.js";
export { decodeClaims, type AccessTokenClaims } from "./jwt.js";
export { readLinkToken, type LinkPage } from "./links.js";
export { browserTabs, type TabCoordinator, type TabMessage, type TabPlatform } from "./tabs.js";
export type {
  ApiKey,
  AuthChangeListener,
  AuthClientOptions,
  AuthEvent,
  CreatedApiKey,
  Credentials,
  EmailChange,
  LinkToken,
  NewApiKey,
  PasswordChange,
  PasswordReset,
  Session,
  SessionInfo,
  User,
} from "./types.js";
