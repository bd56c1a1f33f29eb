/** Where pico-auth's API lives, as in the Python server. */
export const API_PREFIX = '/api/v1/auth';
