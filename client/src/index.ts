export { AuthClient, type AuthClientOptions, type Session, type User } from "./auth-client";
export { AuthClientError } from "./errors";
export { decodeClaims, type AccessTokenClaims } from "./jwt";
export { browserTabs, type TabCoordinator, type TabMessage } from "./tabs";
