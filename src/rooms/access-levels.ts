/** Who may join a room without waiting in its lobby (upstream Meet's three levels). */
export const ACCESS_LEVELS = ['public', 'trusted', 'restricted'] as const;
export type AccessLevel = (typeof ACCESS_LEVELS)[number];
