// Lets node's test runner load the browser client's modules as they are: the client
// imports its modules by their path on the hub ("/vocabulary.js"); here that path is
// resolved to the file in web/. Used as: node --import ./tests/js/register.mjs --test tests/js/
import { register } from "node:module";

register("./resolve-web.mjs", import.meta.url);
