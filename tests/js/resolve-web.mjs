// The resolve hook of register.mjs: "/name.js" imported by a module of web/ is web/name.js.
const WEB = new URL("../../web/", import.meta.url);

export async function resolve(specifier, context, next) {
  if (/^\/[\w.-]+\.js$/.test(specifier) && context.parentURL?.startsWith(WEB.href)) {
    return next(new URL(specifier.slice(1), WEB).href, context);
  }
  return next(specifier, context);
}
