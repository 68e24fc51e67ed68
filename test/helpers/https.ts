// The browser-like HTTPS client and reader live with the tools (the host test bed's rotation runs one too).
export { HttpsClient, type HttpsReply, httpsReader } from '../../src/tools/https-client.ts';
