/** Key names of the data model; braces are a hash tag so a user's keys share a cluster slot. */
export const keys = {
  user: (email: string) => `user:{${email}}`,
  cart: (email: string) => `cart:{${email}}`,
  session: (sid: string) => `sess:${sid}`,
  loginByPair: (email: string, ip: string) => `rl:login:pair:{${email}}:${ip}`,
  loginByEmail: (email: string) => `rl:login:email:{${email}}`,
  loginGate: (email: string) => `rl:login:gate:{${email}}`,
  loginByIp: (ip: string) => `rl:login:ip:${ip}`,
  registerByIp: (ip: string) => `rl:register:ip:${ip}`,
};
