/** What a request carries through the Hono app. */
export interface AppEnv {
  Variables: {
    requestId: string;
    /** Set by the API-key middleware on `/v1/*`. */
    projectId: string;
  };
}
