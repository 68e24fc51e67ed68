import { FUNCTION_LIBRARY, libraryCode } from '../../ha/functions.ts';
import { CART_CLEAR, CART_CLEAR_BY, CART_SET, CART_SET_BY } from './cart-functions.ts';
import {
  LOGIN_SUCCEEDED,
  REFUND_LOGIN,
  REFUND_ONE,
  RESERVE_DEVICE_LOGIN,
  RESERVE_LOGIN,
  RESERVE_ONE,
} from './limits.ts';
import { CREATE_SESSION } from './sessions.ts';
import { CREATE_USER, ENSURE_GENERATION } from './users.ts';

/**
 * Every Lua script of the stores, by the name of the function it becomes in the library
 * (src/ha/functions.ts): the stores call these names with FCALL, and the stack's functions step
 * loads the library built from this table on the master. A new script is one line here.
 */
export const FUNCTIONS = {
  create_user: CREATE_USER,
  ensure_generation: ENSURE_GENERATION,
  reserve_login: RESERVE_LOGIN,
  login_succeeded: LOGIN_SUCCEEDED,
  reserve_one: RESERVE_ONE,
  reserve_device_login: RESERVE_DEVICE_LOGIN,
  refund_login: REFUND_LOGIN,
  refund_one: REFUND_ONE,
  create_session: CREATE_SESSION,
  cart_set: CART_SET,
  cart_clear: CART_CLEAR,
  cart_set_by: CART_SET_BY,
  cart_clear_by: CART_CLEAR_BY,
} as const;

export type FunctionName = keyof typeof FUNCTIONS;

/** The library's source, as `FUNCTION LOAD REPLACE` takes it. */
export const LIBRARY_CODE = libraryCode(FUNCTION_LIBRARY, FUNCTIONS);
export { FUNCTION_LIBRARY };
