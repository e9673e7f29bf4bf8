/** The stamps tests/processes/shared_pool_churn_child.ts writes into the blocks it holds and frees. */
export const HELD = 0x48454c44;
export const FREED = 0x46524545;
