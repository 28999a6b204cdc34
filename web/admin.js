// The users page, for admins: find a user by email, a page of users at a time, change a role,
// delete an account. Your own row is marked and offers neither (your account page does that).

import * as api from "./api.js";
import { breakableEmail, confirmDialog, countOf, explain, flash, formatDate, formatNumber, h, showBusy } from "./ui.js";
import { navigate, signInFirst } from "./app.js";

const USERS_PER_PAGE = 25;

/**
 * `GET /api/users` answers every user at once (API.md gives it no search or paging), so the
 * search and the pages are made here, from that list, and kept in the address (?q=&page=).
 */
export async function usersPage(_params, query) {
  if (!api.isSignedIn()) {
    signInFirst();
    return undefined;
  }
  const me = await api.profile();
  if (!me || me.role !== "admin") {
    return h("section", {}, h("h1", {}, "Users"), h("p", {}, "Only admins can manage users."));
  }
  const { body: users } = await api.request("GET", "/api/users", { auth: true });
  const search = (query.get("q") || "").trim();
  const found = search ? users.filter((user) => user.email.toLowerCase().includes(search.toLowerCase())) : users;
  const pages = Math.max(1, Math.ceil(found.length / USERS_PER_PAGE));
  const pageNumber = Math.min(Math.max(Number.parseInt(query.get("page") || "1", 10) || 1, 1), pages);
  const shown = found.slice((pageNumber - 1) * USERS_PER_PAGE, pageNumber * USERS_PER_PAGE);
  const section = h("section", {}, h("h1", {}, "Users"), searchForm(search));
  if (found.length === 0) {
    section.append(h("p", {}, `No user's email contains “${search}”. `, h("a", { href: "/admin/users" }, "Show every user")));
    return section;
  }
  section.append(
    h("p", { class: "count" }, search ? `${countOf(found.length, "user", "users")} of ${users.length} match` : countOf(users.length, "user", "users")),
    usersTable(shown, me),
  );
  if (pages > 1) {
    section.append(pager(search, pageNumber, pages));
  }
  return section;
}

function searchForm(search) {
  const input = h("input", { type: "search", name: "q", value: search, placeholder: "Part of an email" });
  const element = h(
    "form",
    { class: "users-tools", role: "search", "aria-label": "Users" },
    h("label", {}, "Find by email", input),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Find"), search ? h("a", { href: "/admin/users" }, "Clear") : null),
  );
  element.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    navigate(text ? `/admin/users?q=${encodeURIComponent(text)}` : "/admin/users");
  });
  return element;
}

function usersTable(users, me) {
  const header = h("tr", {}, ["Email", "Role", "Joined", "Movies", "Actions"].map((name) => h("th", { scope: "col" }, name)));
  return h("table", { class: "users" }, h("thead", {}, header), h("tbody", {}, users.map((user) => userRow(user, me))));
}

function userRow(user, me) {
  const mine = user.id === me.id;
  const email = h("td", { "data-label": "Email" }, breakableEmail(user.email), mine ? h("span", { class: "you-mark" }, "You") : null);
  const actions = mine ? h("span", { class: "muted" }, "Your own account: change it on ", h("a", { href: "/account" }, "your account page"), ".") : h("div", { class: "actions" }, roleButton(user), deleteButton(user));
  return h(
    "tr",
    { class: mine ? "you" : null },
    email,
    h("td", { "data-label": "Role" }, user.role),
    h("td", { "data-label": "Joined" }, formatDate(user.created_at)),
    movieCountCell(user),
    h("td", {}, actions),
  );
}

/**
 * How many movies the user added: the catalogue's kept count for `added_by` (one cheap request
 * a row, made after the table is drawn, so the page does not wait for 25 of them).
 */
function movieCountCell(user) {
  const cell = h("td", { "data-label": "Movies" }, "…");
  api
    .request("GET", `/api/movies?added_by=${encodeURIComponent(user.id)}&limit=1&count=true`)
    .then(({ headers }) => {
      cell.textContent = formatNumber(Number.parseInt(headers.get("X-Total-Count") || "0", 10));
    })
    .catch(() => {
      cell.textContent = "?";
      cell.title = "The count could not be loaded";
    });
  return cell;
}

/** Reloads the users page as it is (search and page kept) with `message`. */
function reloadWith(message) {
  navigate(location.pathname + location.search, { replace: true, message });
}

function roleButton(user) {
  const toRole = user.role === "admin" ? "user" : "admin";
  const label = toRole === "admin" ? "Make admin" : "Make user";
  const button = h("button", { type: "button", class: "secondary", "aria-label": `${label}: ${user.email}` }, label);
  button.addEventListener("click", async () => {
    const done = showBusy(button.parentElement, button);
    try {
      await api.request("PATCH", `/api/users/${encodeURIComponent(user.id)}`, { auth: true, body: { role: toRole } });
      api.profileChanged();
      reloadWith(`${user.email} is now ${toRole === "admin" ? "an admin" : "a user"}.`);
    } catch (error) {
      flash(explain(error), true);
    } finally {
      done();
    }
  });
  return button;
}

function deleteButton(user) {
  const button = h("button", { type: "button", class: "danger", "aria-label": `Delete ${user.email}` }, "Delete");
  button.addEventListener("click", async () => {
    if (!(await confirmDialog(`Delete ${user.email} and all their movies?`, "Delete user"))) {
      return;
    }
    const done = showBusy(button.parentElement, button);
    try {
      await api.request("DELETE", `/api/users/${encodeURIComponent(user.id)}`, { auth: true });
      reloadWith(`${user.email} was deleted.`);
    } catch (error) {
      flash(explain(error), true);
    } finally {
      done();
    }
  });
  return button;
}

/** "Page 2 of 4" with the pages before and after. */
function pager(search, pageNumber, pages) {
  const address = (number) => {
    const params = new URLSearchParams();
    if (search) {
      params.set("q", search);
    }
    params.set("page", String(number));
    return `/admin/users?${params}`;
  };
  return h(
    "nav",
    { class: "actions pager", "aria-label": "Pages of users" },
    pageNumber > 1 ? h("a", { href: address(pageNumber - 1) }, "Previous page") : null,
    h("span", { "aria-current": "page" }, `Page ${pageNumber} of ${pages}`),
    pageNumber < pages ? h("a", { href: address(pageNumber + 1) }, "Next page") : null,
  );
}
