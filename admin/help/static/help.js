/* Find crisis help: a reference client of the registry's public HSDS API (/api/hsds/).
   Everything shown here comes from the API; provider text is only ever set as textContent. */
(() => {
  "use strict";
  const API = "/api/hsds";
  const PLACE_TYPES = ["bhcc", "urgent_bhcc", "sobering_center", "crisis_residential"];
  const NEAREST = 5;
  const TZ = "America/Chicago"; // the registry publishes hours in US Central time
  const $ = (id) => document.getElementById(id);
  let counties = null;

  // ------------------------------------------------------------ the API

  async function getJSON(url) {
    const resp = await fetch(url, { headers: { Accept: "application/json" } });
    if (!resp.ok) {
      let error = null;
      try { error = (await resp.json()).error; } catch (e) { /* not JSON */ }
      const err = new Error(error ? error.detail : `The directory answered ${resp.status}.`);
      err.parameter = error && error.parameter;
      throw err;
    }
    return resp.json();
  }

  async function allPages(url) {
    const items = [];
    for (let page = 1; ; page += 1) {
      const body = await getJSON(`${url}&per_page=500&page=${page}`);
      items.push(...body.contents);
      if (body.last_page || body.empty) return items;
    }
  }

  async function loadCounties() {
    if (!counties) {
      counties = await allPages(`${API}/counties?full=false`);
      const list = $("county-names");
      for (const area of counties) {
        const option = document.createElement("option");
        option.value = area.name;
        list.append(option);
      }
    }
    return counties;
  }

  // ------------------------------------------------------------ places and distances

  const norm = (s) => s.toLowerCase().replace(/\bsaint\b/g, "st").replace(/[.,']/g, "")
    .replace(/\s+/g, " ").trim();

  function matchCounty(text, list) {
    const q = norm(text);
    const exact = list.filter((a) => norm(a.name) === q);
    if (exact.length === 1) return { area: exact[0] };
    const starts = list.filter((a) => norm(a.name).startsWith(`${q} `));
    if (starts.length === 1) return { area: starts[0] };
    if (starts.length > 1) return { choices: starts };
    return null;
  }

  function meters(lat1, lon1, lat2, lon2) {
    const r = (d) => (d * Math.PI) / 180;
    const a = Math.sin(r(lat2 - lat1) / 2) ** 2
      + Math.cos(r(lat1)) * Math.cos(r(lat2)) * Math.sin(r(lon2 - lon1) / 2) ** 2;
    return 2 * 6371008.8 * Math.asin(Math.sqrt(a));
  }

  const byName = (a, b) => (a < b ? -1 : a > b ? 1 : 0); // equally near: by name

  const miles = (m) => `${(m / 1609.344).toFixed(m < 16093 ? 1 : 0)} miles`;

  function nearestCounty(lat, lon, list) {
    let best = null;
    for (const a of list) {
      if (a.latitude == null) continue;
      const d = meters(lat, lon, a.latitude, a.longitude);
      if (!best || d < best.d) best = { area: a, d };
    }
    return best && best.area;
  }

  // ------------------------------------------------------------ hours

  const DAYS = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"];

  function centralNow() {
    const parts = new Intl.DateTimeFormat("en-US", {
      timeZone: TZ, weekday: "short", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
    }).formatToParts(new Date());
    const get = (t) => parts.find((p) => p.type === t).value;
    const day = DAYS[["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].indexOf(get("weekday"))];
    const date = new Intl.DateTimeFormat("en-CA", { timeZone: TZ }).format(new Date());
    return { day, date, time: `${get("hour")}:${get("minute")}:${get("second")}` };
  }

  function openNow(schedules) {
    const weekly = (schedules || []).filter((s) => s.opens_at);
    if (!weekly.length) return null;
    const now = centralNow();
    // a holiday closure: valid on one date, no opening time
    if ((schedules || []).some((s) => !s.opens_at && s.valid_from === now.date)) return false;
    return weekly.some((s) => (s.byday || "").split(",").includes(now.day)
      && s.opens_at <= now.time && now.time <= s.closes_at);
  }

  // ------------------------------------------------------------ rendering

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text != null) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  function phoneText(number) {
    const m = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(number || "");
    return m ? `(${m[1]}) ${m[2]}-${m[3]}` : number;
  }

  function callLink(service) {
    const phone = (service.phones || []).find((p) => (p.type || "voice") === "voice") || (service.phones || [])[0];
    if (!phone) return null;
    const a = el("a", `Call ${phoneText(phone.number)}`, "call");
    a.href = `tel:${phone.number}`;
    a.setAttribute("aria-label", `Call ${service.name} at ${phoneText(phone.number)}`);
    return a;
  }

  function hoursLine(service) {
    const p = el("p");
    const open = openNow(service.schedules);
    if (open !== null) p.append(el("span", open ? "Open now" : "Closed now", open ? "open" : "closed"), " · ");
    p.append((service.schedules || []).filter((s) => s.opens_at).map((s) => s.description).join("; ")
      || "Hours not listed");
    return p;
  }

  function typeName(service) {
    const a = (service.attributes || []).find((x) => x.link_type === "service_type" && x.taxonomy_term);
    return a ? a.taxonomy_term.name : "";
  }

  function addressOf(location) {
    const a = ((location && location.addresses) || [])[0];
    return a ? [a.address_1, a.city, `${a.state_province} ${a.postal_code}`].filter(Boolean).join(", ") : "";
  }

  function lineCard(service, fips) {
    const li = el("li");
    const name = el("p", service.name, "name");
    const primary = (service.mo_dmh_primary_counties || "").split(" ").includes(fips);
    const backup = (service.mo_dmh_backup_counties || "").split(" ").includes(fips);
    if (primary) name.append(el("span", "Primary", "tag"));
    if (backup) name.append(el("span", "Backup", "tag"));
    li.append(name);
    li.append(el("p", primary
      ? "Answers 988 calls from here first."
      : backup ? "Answers 988 calls from here when the primary center cannot." : "Serves this area."));
    const call = callLink(service);
    if (call) li.append(call);
    return { li, rank: primary ? 0 : backup ? 1 : 2 };
  }

  function serviceCard(service, extra) {
    const li = el("li");
    li.append(el("p", service.name, "name"));
    if (extra) li.append(extra);
    const call = callLink(service);
    if (call) li.append(call);
    li.append(hoursLine(service));
    if (service.description) li.append(el("p", service.description));
    return li;
  }

  function fill(listId, nodes, empty) {
    const list = $(listId);
    list.replaceChildren(...(nodes.length ? nodes : [el("li", empty)]));
  }

  // ------------------------------------------------------------ the search

  function showError(message, choices) {
    const error = $("place-error");
    error.replaceChildren(message);
    for (const area of choices || []) {
      const b = el("button", area.name, "choice");
      b.type = "button";
      b.addEventListener("click", () => { $("place").value = area.name; search(area, null, area.name); });
      error.append(" ", b);
    }
    error.hidden = false;
    $("place").setAttribute("aria-invalid", "true");
    $("place").setAttribute("aria-describedby", "place-hint place-error");
    $("status").textContent = "";
    (choices && choices.length ? error.querySelector("button") : $("place")).focus();
  }

  function clearError() {
    $("place-error").hidden = true;
    $("place").removeAttribute("aria-invalid");
    $("place").setAttribute("aria-describedby", "place-hint");
  }

  async function search(area, origin, heading) {
    clearError();
    $("status").textContent = "Looking up crisis help…";
    const fips = area.fips;
    const from = origin || { lat: area.latitude, lon: area.longitude };
    try {
      const [line, mobile, root, ...places] = await Promise.all([
        allPages(`${API}/services?county=${fips}&service_type=988_center&full=true`),
        allPages(`${API}/services?county=${fips}&service_type=mobile_crisis&full=true`),
        getJSON(`${API}/`),
        ...PLACE_TYPES.map((t) => allPages(`${API}/service_at_locations?service_type=${t}&full=true`)),
      ]);
      $("results-heading").textContent = `Crisis help for ${heading}`;
      const cards = line.map((s) => lineCard(s, fips)).sort((a, b) => a.rank - b.rank).map((c) => c.li);
      fill("line-centers", cards, "988 still answers here: call or text 988.");
      fill("mobile-teams", mobile.map((s) => serviceCard(s)),
        "No mobile crisis team is listed for this area: call or text 988 and ask for one.");
      const near = places.flat()
        .filter((sal) => sal.location && sal.location.latitude != null)
        .map((sal) => ({ sal, d: meters(from.lat, from.lon, sal.location.latitude, sal.location.longitude) }))
        .sort((a, b) => a.d - b.d || byName(a.sal.service.name, b.sal.service.name))
        .slice(0, NEAREST);
      fill("places", near.map(({ sal, d }) => {
        const where = el("p");
        where.append(el("span", typeName(sal.service)), ` · ${miles(d)} away`);
        const address = addressOf(sal.location);
        if (address) where.append(el("br"), address);
        return serviceCard(sal.service, where);
      }), "No crisis center is listed yet.");
      $("release").textContent = root.release ? `Release ${root.release}.` : "";
      $("results").hidden = false;
      $("status").textContent = `Showing crisis help for ${heading}.`;
      $("results-heading").focus();
    } catch (err) {
      $("status").textContent = "";
      showError(`The directory could not be reached (${err.message}). Call or text 988: it always answers.`);
    }
  }

  async function onSubmit(event) {
    event.preventDefault();
    const text = $("place").value.trim();
    if (!text) return showError("Enter a Missouri county or a 5-digit ZIP code.");
    try {
      if (/^\d{5}$/.test(text)) {
        const body = await getJSON(`${API}/counties?postcode=${text}&full=true`);
        const area = body.contents[0];
        const zip = area.zip_codes.find((z) => z.zip_code === text);
        return search(area, { lat: zip.latitude, lon: zip.longitude }, `ZIP ${text} (${zip.city}, ${area.name})`);
      }
      if (/^\d+$/.test(text)) return showError("A ZIP code has 5 digits, such as 65201.");
      const found = matchCounty(text, await loadCounties());
      if (!found) return showError(`No Missouri county is called “${text}”. Try a county name or a ZIP code.`);
      if (found.choices) return showError(`“${text}” could be more than one place. Choose one:`, found.choices);
      return search(found.area, null, found.area.name);
    } catch (err) {
      if (err.parameter === "postcode") return showError(`${text} is not a Missouri ZIP code.`);
      return showError(`The directory could not be reached (${err.message}). Call or text 988: it always answers.`);
    }
  }

  function locate() {
    if (!navigator.geolocation) return showError("This browser cannot share its location: enter a county or ZIP code.");
    $("status").textContent = "Finding your location…";
    navigator.geolocation.getCurrentPosition(async (pos) => {
      const { latitude: lat, longitude: lon } = pos.coords;
      try {
        const area = nearestCounty(lat, lon, await loadCounties());
        return search(area, { lat, lon }, `your location (${area.name})`);
      } catch (err) {
        return showError(`The directory could not be reached (${err.message}). Call or text 988: it always answers.`);
      }
    }, () => showError("Your location is not available: enter a county or ZIP code."), { timeout: 10000 });
  }

  $("find").addEventListener("submit", onSubmit);
  $("locate").addEventListener("click", locate);
  $("print").addEventListener("click", () => window.print());
  $("place").addEventListener("focus", () => { loadCounties().catch(() => {}); }, { once: true });
})();
