"""Scoped registry tokens, API keys and the Docker token protocol (issue 3),
end to end against `strata serve`.

Tenants are kept apart by tokens: skopeo with a tenant's API key pushes to its
own namespace and is refused elsewhere; a registry token reads only what it
names, not even a blob of another repository by exact digest or through a
cross-repository mount. Forged, expired and wrong-audience tokens are built by
hand here (hmac/hashlib/base64), some signed with the server's real secret as
a control, so a refusal means the check worked and not that the test's JWT
was broken.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import stat
import tempfile
import time
import unittest
import urllib.parse
import uuid

import fixtures
from harness import ServerTestCase, poll, skip_on_distribution, skopeo_copy

REGISTRY_AUDIENCE = "strata-registry"
API_AUDIENCE = "strata-api"
# SubjectPublicKeyInfo DER of a P-256 key up to the uncompressed point.
P256_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_header(token):
    return json.loads(b64url_decode(token.split(".")[0]))


def jwt_payload(token):
    return json.loads(b64url_decode(token.split(".")[1]))


def encode_jwt(header, payload, secret):
    """A compact JWS of header and payload; HMAC-SHA256 with secret, or no
    signature when secret is None."""
    signing_input = (b64url(json.dumps(header).encode()) + "." +
                     b64url(json.dumps(payload).encode()))
    if secret is None:
        return signing_input + "."
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(mac)


def granted(token):
    """{(type, name): set of actions} of a registry token's access claim.
    Entries without actions grant nothing and are left out; a resource class
    (`repository(plugin)`) is the same type as without it."""
    result = {}
    for entry in jwt_payload(token).get("access") or []:
        if entry.get("actions"):
            kind = entry["type"].split("(")[0]
            result.setdefault((kind, entry["name"]), set()).update(entry["actions"])
    return result


def parse_challenge(value):
    """(scheme, {param: value}) of a WWW-Authenticate header."""
    scheme, _, rest = (value or "").partition(" ")
    return scheme, dict(re.findall(r'(\w+)="([^"]*)"', rest))


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def bearer(secret):
    return {"Authorization": "Bearer " + secret}


class AuthTestCase(ServerTestCase):
    """A strata server plus helpers to get credentials of every kind."""

    def anonymous(self, method, path, headers=None, body=None):
        return self.server.anonymous_client().request(method, path, headers, body)

    def with_token(self, token):
        return self.server.client(token)

    def mint(self, *access):
        return self.server.mint_registry_token(*access)

    @classmethod
    def create_key(cls, role, tenant=None):
        """A new API key from `strata keys create` (offline, on the data dir)."""
        args = ["keys", "create", "--role", role] + (["--tenant", tenant] if tenant else [])
        return cls.server.strata(*args).stdout.strip()

    def mint_api_token(self, role, tenant=None):
        args = ["token", "api", "--role", role, "--ttl", "1h"] + (["--tenant", tenant] if tenant else [])
        return self.server.strata(*args).stdout.strip()

    def token_endpoint(self, scopes, authorization=None):
        query = urllib.parse.urlencode([("service", "strata")] + [("scope", s) for s in scopes])
        headers = {"Authorization": authorization} if authorization else {}
        return self.anonymous("GET", "/v2/token?" + query, headers)

    def fetch_token(self, key, *scopes):
        resp = self.token_endpoint(scopes, basic("e2e", key))
        self.assertEqual(resp.status, 200, resp)
        return resp.json()["token"]

    def push_small_image(self, repo, tag="v1"):
        image = fixtures.make_image("auth-" + repo + "-" + tag, layers=1)
        self.client.push_image(repo, tag, image)
        return image

    def assertChallenge(self, resp, scope=None, error=None):
        """A 401 whose Bearer challenge points at this server's token endpoint
        with exactly these parameters (no scope/error param when None)."""
        self.assertEqual(resp.status, 401, resp)
        scheme, params = parse_challenge(resp.header("WWW-Authenticate"))
        self.assertEqual(scheme, "Bearer", resp)
        expected = {"realm": self.server.base_url + "/v2/token", "service": "strata"}
        if scope:
            expected["scope"] = scope
        if error:
            expected["error"] = error
        self.assertEqual(params, expected, resp)

    def assertInvalidToken(self, resp):
        self.assertEqual(resp.status, 401, resp)
        self.assertEqual(parse_challenge(resp.header("WWW-Authenticate"))[1].get("error"),
                         "invalid_token", resp)
        self.assertError(resp, 401, "UNAUTHORIZED")

    def assertInsufficientScope(self, resp, repo, action):
        """401 insufficient_scope naming repo with an action set holding action."""
        self.assertError(resp, 401, "DENIED")
        params = parse_challenge(resp.header("WWW-Authenticate"))[1]
        self.assertEqual(params.get("error"), "insufficient_scope", resp)
        resource, _, actions = params.get("scope", "").rpartition(":")
        self.assertEqual(resource, "repository:" + repo, resp)
        self.assertIn(action, actions.split(","), resp)


@skip_on_distribution("registry auth is strata's (issue 3)")
@unittest.skipUnless(shutil.which("skopeo"), "skopeo not installed")
class SkopeoWithApiKeys(AuthTestCase):
    """skopeo gets its tokens from the token endpoint with an API key."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.acme_key = cls.create_key("tenant", "acme")

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="strata-e2e-auth-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    def push(self, image, repo, tag, creds, check=True):
        layout = fixtures.write_oci_layout(os.path.join(self.tmp, "in-" + tag), {tag: image})
        return skopeo_copy("oci:%s:%s" % (layout, tag),
                           "docker://%s/%s:%s" % (self.server.host, repo, tag),
                           "--dest-creds", creds, check=check)

    def assertStored(self, repo, tag, image):
        resp = self.client.request("GET", "/v2/%s/manifests/%s" % (repo, tag),
                                   {"Accept": image.media_type})
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.body, image.manifest)

    def assertRefusedAndNothingStored(self, repo, tag):
        image = fixtures.make_image("skopeo-refused-" + repo, layers=2)
        code, output = self.push(image, repo, tag, "acme:" + self.acme_key, check=False)
        self.assertNotEqual(code, 0, output)
        head = self.client.request("HEAD", "/v2/%s/manifests/%s" % (repo, tag))
        self.assertEqual(head.status, 404, head)
        for blob in image.blobs():
            head = self.client.request("HEAD", "/v2/%s/blobs/%s" % (repo, blob.digest))
            self.assertEqual(head.status, 404, "blob %s reached %s: %r" % (blob.digest, repo, head))

    def test_tenant_key_pushes_to_its_own_namespace(self):
        image = fixtures.make_image("skopeo-acme", layers=2)
        self.push(image, "acme/app", "v1", "acme:" + self.acme_key)
        self.assertStored("acme/app", "v1", image)

    def test_tenant_key_is_refused_on_the_global_cache(self):
        self.assertRefusedAndNothingStored("cache/global/node", "from-acme")

    def test_tenant_key_is_refused_on_another_tenants_namespace(self):
        self.assertRefusedAndNothingStored("other/app", "from-acme")

    def test_operator_key_pushes_the_global_cache_and_tenants_pull_it(self):
        image = fixtures.make_image("skopeo-operator", layers=2)
        self.push(image, "cache/global/node", "op", self.server.registry_creds())
        self.assertStored("cache/global/node", "op", image)
        out = os.path.join(self.tmp, "out")
        skopeo_copy("docker://%s/cache/global/node:op" % self.server.host, "oci:%s:op" % out,
                    "--src-creds", "acme:" + self.acme_key)
        self.assertEqual(fixtures.layout_ref(out, "op")["digest"], image.digest)


@skip_on_distribution("registry auth is strata's (issue 3)")
class PullOnlyPatternToken(AuthTestCase):
    """A hand-minted token with pull on cache/global/*."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.image = fixtures.make_image("auth-pull-only", layers=2)
        cls.client.push_image("cache/global/node", "v1", cls.image)
        cls.client.push_image("cache/global/deep/node", "v1", fixtures.make_image("auth-deep", layers=1))
        cls.reader = cls.server.client(
            cls.server.mint_registry_token("repository:cache/global/*:pull"))

    def test_pulls_manifest_by_tag_and_by_digest(self):
        for reference in ("v1", self.image.digest):
            resp = self.reader.request("GET", "/v2/cache/global/node/manifests/" + reference,
                                       {"Accept": self.image.media_type})
            self.assertEqual(resp.status, 200, resp)
            self.assertEqual(resp.body, self.image.manifest)
            self.assertEqual(resp.header("Docker-Content-Digest"), self.image.digest)

    def test_pulls_every_blob_by_digest(self):
        for blob in self.image.blobs():
            resp = self.reader.request("GET", "/v2/cache/global/node/blobs/" + blob.digest)
            self.assertEqual(resp.status, 200, resp)
            self.assertEqual(resp.body, blob.data)

    def test_lists_tags(self):
        resp = self.reader.request("GET", "/v2/cache/global/node/tags/list")
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json()["tags"], ["v1"])

    def test_cannot_start_a_blob_upload(self):
        resp = self.reader.start_upload("cache/global/node")
        self.assertInsufficientScope(resp, "cache/global/node", "push")

    def test_cannot_push_a_manifest(self):
        other = fixtures.make_image("auth-pull-only-2", layers=1)
        resp = self.reader.put_manifest("cache/global/node", "v2", other.manifest, other.media_type)
        self.assertInsufficientScope(resp, "cache/global/node", "push")
        self.assertEqual(self.client.request("HEAD", "/v2/cache/global/node/manifests/v2").status, 404)

    def test_cannot_delete(self):
        resp = self.reader.request("DELETE", "/v2/cache/global/node/manifests/" + self.image.digest)
        self.assertInsufficientScope(resp, "cache/global/node", "delete")
        self.assertEqual(self.client.request("HEAD", "/v2/cache/global/node/manifests/v1").status, 200)

    def test_single_star_does_not_cross_a_segment(self):
        resp = self.reader.request("GET", "/v2/cache/global/deep/node/manifests/v1")
        self.assertInsufficientScope(resp, "cache/global/deep/node", "pull")


@skip_on_distribution("registry auth is strata's (issue 3)")
class CrossRepositoryIsolation(AuthTestCase):
    """A token for cache/acme never reaches the bytes of cache/other."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.secret = fixtures.random_bytes("auth-secret-blob", 3000)
        cls.digest = cls.client.push_blob("cache/other", cls.secret)
        cls.acme = cls.server.client(cls.server.mint_registry_token("repository:cache/acme:pull,push"))

    def assertNotInCacheAcme(self):
        head = self.client.request("HEAD", "/v2/cache/acme/blobs/" + self.digest)
        self.assertEqual(head.status, 404, "blob linked into cache/acme: %r" % head)

    def test_blob_of_another_repository_is_unknown_by_exact_digest(self):
        get = self.acme.request("GET", "/v2/cache/acme/blobs/" + self.digest)
        self.assertError(get, 404, "BLOB_UNKNOWN")
        self.assertNotIn(self.secret, get.body)
        self.assertEqual(self.acme.request("HEAD", "/v2/cache/acme/blobs/" + self.digest).status, 404)

    def test_blob_is_refused_through_its_own_repository(self):
        for method in ("GET", "HEAD"):
            resp = self.acme.request(method, "/v2/cache/other/blobs/" + self.digest)
            self.assertEqual(resp.status, 401, resp)
            self.assertNotIn(self.secret, resp.body)
        self.assertInsufficientScope(self.acme.request("GET", "/v2/cache/other/blobs/" + self.digest),
                                     "cache/other", "pull")

    def test_mount_from_an_unpullable_repository_opens_an_upload_and_links_nothing(self):
        resp = self.acme.start_upload("cache/acme", "?mount=%s&from=cache/other" % self.digest)
        self.assertEqual(resp.status, 202, resp)
        self.assertIsNotNone(resp.header("Location"), resp)
        self.assertError(self.acme.request("GET", "/v2/cache/acme/blobs/" + self.digest), 404, "BLOB_UNKNOWN")
        self.assertNotInCacheAcme()

    def test_mount_without_from_does_not_discover_an_unpullable_blob(self):
        resp = self.acme.start_upload("cache/acme", "?mount=%s" % self.digest)
        self.assertEqual(resp.status, 202, resp)
        self.assertNotInCacheAcme()

    def test_mount_from_a_pullable_repository_links(self):
        data = fixtures.random_bytes("auth-mountable", 2000)
        digest = self.client.push_blob("cache/global/base", data)
        token = self.mint("repository:cache/acme:pull,push", "repository:cache/global/**:pull")
        resp = self.with_token(token).start_upload("cache/acme", "?mount=%s&from=cache/global/base" % digest)
        self.assertEqual(resp.status, 201, resp)
        self.assertEqual(self.acme.request("GET", "/v2/cache/acme/blobs/" + digest).body, data)


@skip_on_distribution("registry auth is strata's (issue 3)")
class TokenVerification(AuthTestCase):
    """Which tokens /v2/ accepts: hand-built JWTs, signed with the server's
    own HS256 secret as a control and with everything that must fail."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.client.push_image("cred/app", "v1", fixtures.make_image("auth-cred", layers=1))
        cls.reference = cls.server.mint_registry_token("repository:cred/app:pull")
        with open(os.path.join(cls.server.data_dir, "token.secret")) as f:
            cls.hs_secret = b64url_decode(f.read().strip())

    def claims(self, **overrides):
        now = int(time.time())
        claims = {"iss": "strata", "sub": "e2e", "aud": REGISTRY_AUDIENCE, "exp": now + 600,
                  "nbf": now - 5, "iat": now, "jti": str(uuid.uuid4()),
                  "access": [{"type": "repository", "name": "cred/app", "actions": ["pull"]}]}
        claims.update(overrides)
        return claims

    def hs256(self, claims, secret=None, kid=None):
        header = {"alg": "HS256", "typ": "JWT", "kid": kid or jwt_header(self.reference)["kid"]}
        return encode_jwt(header, claims, secret or self.hs_secret)

    def pull_with(self, token):
        return self.with_token(token).request("GET", "/v2/cred/app/tags/list")

    def test_minted_token_is_signed_hs256_with_a_kid(self):
        header = jwt_header(self.reference)
        self.assertEqual(header["alg"], "HS256")
        self.assertTrue(header["kid"])
        payload = jwt_payload(self.reference)
        self.assertIn(payload["aud"], (REGISTRY_AUDIENCE, [REGISTRY_AUDIENCE]))
        for claim in ("iss", "sub", "exp", "iat", "jti"):
            self.assertIn(claim, payload)

    def test_hand_signed_token_with_the_server_secret_is_accepted(self):
        self.assertEqual(self.pull_with(self.hs256(self.claims())).status, 200)

    def test_legacy_repos_claim_is_accepted(self):
        claims = self.claims(repos=["cred/app"], scope="pull")
        del claims["access"]
        token = self.hs256(claims)
        self.assertEqual(self.pull_with(token).status, 200)
        self.assertInsufficientScope(self.with_token(token).start_upload("cred/app"), "cred/app", "push")

    def test_legacy_repo_access_claim_is_accepted(self):
        claims = self.claims(repo_access=[{"repo": "cred/app", "scope": "push"}])
        del claims["access"]
        token = self.hs256(claims)
        self.assertEqual(self.pull_with(token).status, 200)  # push implies pull
        self.assertEqual(self.with_token(token).start_upload("cred/app").status, 202)

    def test_token_signed_with_a_wrong_secret_is_rejected(self):
        self.assertInvalidToken(self.pull_with(self.hs256(self.claims(), secret=b"w" * 32)))

    def test_alg_none_is_rejected(self):
        header = {"alg": "none", "typ": "JWT", "kid": jwt_header(self.reference)["kid"]}
        unsigned = encode_jwt(header, self.claims(), None)
        self.assertInvalidToken(self.pull_with(unsigned))
        self.assertInvalidToken(self.pull_with(unsigned + b64url(b"sig")))

    def test_es256_public_key_used_as_hmac_secret_is_rejected(self):
        jwk = next(k for k in self.anonymous("GET", "/.well-known/jwks.json").json()["keys"]
                   if k.get("kty") == "EC")
        der = P256_SPKI_PREFIX + b"\x04" + b64url_decode(jwk["x"]) + b64url_decode(jwk["y"])
        body = base64.b64encode(der).decode()
        pem = "-----BEGIN PUBLIC KEY-----\n%s\n%s\n-----END PUBLIC KEY-----\n" % (body[:64], body[64:])
        for secret in (pem.encode(), der):
            self.assertInvalidToken(self.pull_with(self.hs256(self.claims(), secret, jwk["kid"])))

    def test_expired_token_is_rejected(self):
        now = int(time.time())
        expired = self.claims(exp=now - 600, iat=now - 1200, nbf=now - 1200)
        self.assertInvalidToken(self.pull_with(self.hs256(expired)))

    def test_not_yet_valid_token_is_rejected(self):
        now = int(time.time())
        early = self.claims(nbf=now + 600, iat=now + 600, exp=now + 1200)
        self.assertInvalidToken(self.pull_with(self.hs256(early)))

    def test_wrong_issuer_is_rejected(self):
        self.assertInvalidToken(self.pull_with(self.hs256(self.claims(iss="someone-else"))))

    def test_api_audience_is_rejected_at_the_registry(self):
        self.assertInvalidToken(self.pull_with(self.hs256(self.claims(aud=API_AUDIENCE))))

    def test_malformed_token_is_rejected(self):
        for token in ("not-a-jwt", "a.b", "a.b.c", self.reference + ".extra"):
            self.assertInvalidToken(self.pull_with(token))

    def test_tampered_token_is_rejected_and_inspect_says_not_verified(self):
        header, _, signature = self.reference.split(".")
        payload = jwt_payload(self.reference)
        payload["access"] = [{"type": "repository", "name": "**", "actions": ["pull", "push"]}]
        tampered = ".".join([header, b64url(json.dumps(payload).encode()), signature])
        self.assertInvalidToken(self.pull_with(tampered))
        self.assertInvalidToken(self.with_token(tampered).start_upload("cred/app"))

        bad = self.server.strata("token", "inspect", tampered, check=False)
        self.assertEqual(bad.returncode, 1, bad)
        self.assertRegex(bad.stdout, r"(?m)^verified: no\b")
        good = self.server.strata("token", "inspect", self.reference, check=False)
        self.assertEqual(good.returncode, 0, good)
        self.assertRegex(good.stdout, r"(?m)^verified: yes$")
        self.assertIn("cred/app", good.stdout)

    def test_api_token_is_refused_at_the_registry(self):
        api_token = self.mint_api_token("operator")
        self.assertInvalidToken(self.anonymous("GET", "/v2/", bearer(api_token)))
        self.assertInvalidToken(self.anonymous("GET", "/v2/cred/app/tags/list", bearer(api_token)))

    def test_api_key_is_refused_at_the_registry(self):
        key = self.server.operator_key
        for authorization in ("Bearer " + key, basic("operator", key), basic(key, "")):
            resp = self.anonymous("GET", "/v2/cred/app/tags/list", {"Authorization": authorization})
            self.assertEqual(resp.status, 401, resp)

    def test_registry_token_is_refused_at_the_api(self):
        resp = self.anonymous("GET", "/keys", bearer(self.server.admin_token))
        self.assertEqual(resp.status, 401, resp)

    def test_basic_with_a_token_as_password_or_user_name_is_accepted(self):
        for authorization in (basic("token", self.reference), basic(self.reference, "")):
            resp = self.anonymous("GET", "/v2/cred/app/tags/list", {"Authorization": authorization})
            self.assertEqual(resp.status, 200, resp)


@skip_on_distribution("registry auth is strata's (issue 3)")
class Challenges(AuthTestCase):
    """401 answers tell a client where to get which token."""

    def test_anonymous_pull_gets_a_challenge_with_the_scope(self):
        resp = self.anonymous("GET", "/v2/acme/app/manifests/latest")
        self.assertChallenge(resp, scope="repository:acme/app:pull")
        self.assertError(resp, 401, "UNAUTHORIZED")

    def test_exact_challenge_header_for_a_pull(self):
        resp = self.anonymous("GET", "/v2/acme/app/blobs/sha256:" + "0" * 64)
        self.assertEqual(resp.header("WWW-Authenticate"),
                         'Bearer realm="http://127.0.0.1:%d/v2/token",service="strata",'
                         'scope="repository:acme/app:pull"' % self.server.port)

    def test_base_endpoint_challenge_has_no_scope(self):
        resp = self.anonymous("GET", "/v2/")
        self.assertChallenge(resp)
        self.assertError(resp, 401, "UNAUTHORIZED")

    def test_catalog_challenge_asks_for_registry_catalog(self):
        self.assertChallenge(self.anonymous("GET", "/v2/_catalog"), scope="registry:catalog:*")

    def test_anonymous_upload_challenge_asks_for_push(self):
        resp = self.anonymous("POST", "/v2/acme/app/blobs/uploads/")
        self.assertEqual(resp.status, 401, resp)
        scope = parse_challenge(resp.header("WWW-Authenticate"))[1].get("scope", "")
        self.assertTrue(scope.startswith("repository:acme/app:"), resp)
        self.assertIn("push", scope.rsplit(":", 1)[1].split(","), resp)

    def test_following_the_challenge_gets_a_working_token(self):
        """What docker/skopeo do: 401 -> realm?service&scope with Basic -> retry."""
        self.push_small_image("acme/flow")
        first = self.anonymous("GET", "/v2/acme/flow/tags/list")
        params = parse_challenge(first.header("WWW-Authenticate"))[1]
        realm = urllib.parse.urlsplit(params["realm"])
        self.assertEqual(realm.netloc, self.server.host)
        query = urllib.parse.urlencode({"service": params["service"], "scope": params["scope"]})
        got = self.anonymous("GET", realm.path + "?" + query,
                             {"Authorization": basic("operator", self.server.operator_key)})
        self.assertEqual(got.status, 200, got)
        retry = self.with_token(got.json()["token"]).request("GET", "/v2/acme/flow/tags/list")
        self.assertEqual(retry.status, 200, retry)
        self.assertEqual(retry.json()["tags"], ["v1"])


@skip_on_distribution("registry auth is strata's (issue 3)")
class TokenEndpoint(AuthTestCase):
    """GET /v2/token (Docker) and POST /v2/token (OAuth2)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.acme_key = cls.create_key("tenant", "acme")
        cls.client.push_image("cache/global/node", "v1", fixtures.make_image("auth-endpoint", layers=1))

    ASKED = ["repository:acme/app:pull,push", "repository:other/app:pull",
             "repository:cache/global/node:pull,push"]
    ACME_GETS = {("repository", "acme/app"): {"pull", "push"},
                 ("repository", "cache/global/node"): {"pull"}}

    def test_grants_the_intersection_of_asked_and_allowed(self):
        resp = self.token_endpoint(self.ASKED, basic("acme", self.acme_key))
        self.assertEqual(resp.status, 200, resp)
        doc = resp.json()
        self.assertTrue(doc["token"], doc)
        self.assertTrue(doc["access_token"], doc)
        self.assertGreaterEqual(doc["expires_in"], 60, doc)
        self.assertRegex(doc["issued_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
        self.assertEqual(granted(doc["token"]), self.ACME_GETS)
        self.assertEqual(granted(doc["access_token"]), self.ACME_GETS)
        self.assertIn(jwt_payload(doc["token"])["aud"], (REGISTRY_AUDIENCE, [REGISTRY_AUDIENCE]))

    def test_granted_token_works_exactly_as_granted(self):
        acme = self.with_token(self.fetch_token(self.acme_key, *self.ASKED))
        self.assertEqual(acme.start_upload("acme/app").status, 202)
        self.assertEqual(acme.request("GET", "/v2/cache/global/node/tags/list").status, 200)
        self.assertInsufficientScope(acme.start_upload("cache/global/node"), "cache/global/node", "push")
        self.assertInsufficientScope(acme.request("GET", "/v2/other/app/tags/list"), "other/app", "pull")

    def test_key_as_user_name_with_empty_password(self):
        resp = self.token_endpoint(["repository:acme/app:pull"], basic(self.acme_key, ""))
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(granted(resp.json()["token"]), {("repository", "acme/app"): {"pull"}})

    def test_several_scopes_of_one_repository_merge(self):
        token = self.fetch_token(self.acme_key, "repository:acme/app:pull", "repository:acme/app:push")
        self.assertEqual(granted(token), {("repository", "acme/app"): {"pull", "push"}})

    def test_resource_class_is_the_same_repository(self):
        token = self.fetch_token(self.acme_key, "repository(plugin):acme/app:pull")
        self.assertEqual(granted(token), {("repository", "acme/app"): {"pull"}})

    def test_wrong_key_is_401_with_a_basic_challenge(self):
        resp = self.token_endpoint(["repository:acme/app:pull"], basic("acme", "not-a-key"))
        self.assertEqual(resp.status, 401, resp)
        scheme, params = parse_challenge(resp.header("WWW-Authenticate"))
        self.assertEqual((scheme, params.get("realm")), ("Basic", "strata"), resp)
        self.assertIn("error", resp.json())

    def test_a_registry_token_is_not_a_key(self):
        resp = self.token_endpoint(["repository:acme/app:pull"], basic("acme", self.server.admin_token))
        self.assertEqual(resp.status, 401, resp)

    def test_anonymous_gets_a_token_without_access(self):
        resp = self.token_endpoint(["repository:acme/app:pull", "repository:cache/global/node:pull"])
        self.assertEqual(resp.status, 200, resp)
        token = resp.json()["token"]
        self.assertEqual(granted(token), {})
        self.assertEqual(self.with_token(token).request("GET", "/v2/").status, 200)
        self.assertInsufficientScope(self.with_token(token).request("GET", "/v2/cache/global/node/tags/list"),
                                     "cache/global/node", "pull")

    def test_malformed_scope_is_400(self):
        resp = self.token_endpoint(["repository:acme/app"], basic("acme", self.acme_key))
        self.assertEqual(resp.status, 400, resp)

    def test_operator_may_get_the_catalog(self):
        token = self.fetch_token(self.server.operator_key, "registry:catalog:*")
        self.assertEqual(granted(token), {("registry", "catalog"): {"*"}})

    def oauth2(self, **form):
        body = urllib.parse.urlencode(form).encode()
        return self.anonymous("POST", "/v2/token",
                              {"Content-Type": "application/x-www-form-urlencoded"}, body)

    def test_oauth2_password_grant(self):
        resp = self.oauth2(grant_type="password", username="acme", password=self.acme_key,
                           service="strata", client_id="e2e", scope=" ".join(self.ASKED))
        self.assertEqual(resp.status, 200, resp)
        doc = resp.json()
        self.assertEqual(doc["token_type"], "Bearer")
        self.assertGreaterEqual(doc["expires_in"], 60)
        self.assertIn("issued_at", doc)
        self.assertIn("scope", doc)
        self.assertEqual(granted(doc["access_token"]), self.ACME_GETS)
        acme = self.with_token(doc["access_token"])
        self.assertEqual(acme.start_upload("acme/app").status, 202)

    def test_oauth2_wrong_password_is_401(self):
        resp = self.oauth2(grant_type="password", username="acme", password="nope",
                           service="strata", client_id="e2e", scope="repository:acme/app:pull")
        self.assertEqual(resp.status, 401, resp)

    def test_oauth2_other_grant_types_are_400(self):
        resp = self.oauth2(grant_type="refresh_token", refresh_token="x", service="strata",
                           client_id="e2e", scope="repository:acme/app:pull")
        self.assertEqual(resp.status, 400, resp)
        self.assertEqual(resp.json()["error"], "unsupported_grant_type")


@skip_on_distribution("registry auth is strata's (issue 3)")
class ApiKeys(AuthTestCase):
    """The operator-only key API, and which credentials the API takes."""

    def api(self, method, path, key, doc=None):
        headers = dict(bearer(key)) if key else {}
        body = None
        if doc is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(doc).encode()
        return self.anonymous(method, path, headers, body)

    def listed(self, key_id):
        resp = self.api("GET", "/keys", self.server.operator_key)
        self.assertEqual(resp.status, 200, resp)
        return next((k for k in resp.json()["keys"] if k["id"] == key_id), None)

    def test_tenant_key_cannot_use_the_key_api(self):
        key = self.create_key("tenant", "acme")
        self.assertEqual(self.api("POST", "/keys", key, {"role": "operator"}).status, 403)
        self.assertEqual(self.api("GET", "/keys", key).status, 403)

    def test_operator_creates_lists_and_revokes_a_key(self):
        created = self.api("POST", "/keys", self.server.operator_key, {"role": "tenant", "tenant": "beta"})
        self.assertEqual(created.status, 201, created)
        doc = created.json()
        self.assertEqual((doc["role"], doc["tenant"]), ("tenant", "beta"))
        entry = self.listed(doc["id"])
        self.assertIsNotNone(entry)
        self.assertEqual((entry["role"], entry["tenant"], entry["revoked"]), ("tenant", "beta", False))
        self.assertNotIn(doc["key"], json.dumps(entry))
        grant = granted(self.fetch_token(doc["key"], "repository:beta/app:push"))
        self.assertIn("push", grant.get(("repository", "beta/app"), set()), grant)

        revoked = self.api("DELETE", "/keys/" + doc["id"], self.server.operator_key)
        self.assertEqual(revoked.status, 204, revoked)
        self.assertTrue(self.listed(doc["id"])["revoked"])
        refused = self.token_endpoint(["repository:beta/app:pull"], basic("beta", doc["key"]))
        self.assertEqual(refused.status, 401, refused)

    def test_revoking_an_unknown_key_is_404(self):
        resp = self.api("DELETE", "/keys/no-such-key", self.server.operator_key)
        self.assertEqual(resp.status, 404, resp)

    def test_api_needs_credentials(self):
        self.assertEqual(self.api("GET", "/keys", None).status, 401)
        self.assertEqual(self.api("GET", "/keys", "not-a-key").status, 401)

    def test_api_tokens_are_accepted_with_their_role(self):
        self.assertEqual(self.api("GET", "/keys", self.mint_api_token("operator")).status, 200)
        tenant = self.mint_api_token("tenant", "acme")
        self.assertEqual(self.api("POST", "/keys", tenant, {"role": "operator"}).status, 403)

    def test_revoked_registry_token_is_refused_until_it_expires(self):
        token = self.server.mint_registry_token("repository:revoke/app:pull,push")
        client = self.server.client(token)
        self.assertEqual(client.request("GET", "/v2/").status, 200)
        tenant = self.create_key("tenant", "acme")
        refused = self.api("POST", "/tokens/revoke", tenant, {"token": token})
        self.assertEqual(refused.status, 403, refused)
        revoked = self.api("POST", "/tokens/revoke", self.server.operator_key, {"token": token})
        self.assertEqual(revoked.status, 200, revoked)
        self.assertTrue(revoked.json()["jti"])
        resp = client.request("GET", "/v2/")
        self.assertEqual(resp.status, 401, resp)
        self.assertIn('error="invalid_token"', resp.header("WWW-Authenticate"))
        self.assertEqual(client.request("GET", "/v2/revoke/app/tags/list").status, 401)
        # A revoked API token is refused at the API the same way.
        api_token = self.mint_api_token("operator")
        self.assertEqual(self.api("GET", "/keys", api_token).status, 200)
        self.assertEqual(self.api("POST", "/tokens/revoke", self.server.operator_key,
                                  {"token": api_token}).status, 200)
        self.assertEqual(self.api("GET", "/keys", api_token).status, 401)

    def test_revoking_garbage_is_400(self):
        resp = self.api("POST", "/tokens/revoke", self.server.operator_key, {"token": "a.b.c"})
        self.assertEqual(resp.status, 400, resp)
        self.assertEqual(resp.json()["error"]["code"], "TOKEN_INVALID")

    def test_keys_are_stored_hashed(self):
        created = self.api("POST", "/keys", self.server.operator_key, {"role": "tenant", "tenant": "hashed"})
        self.assertEqual(created.status, 201, created)
        key = created.json()["key"].encode()
        for directory, _, files in os.walk(self.server.data_dir):
            for name in files:
                with open(os.path.join(directory, name), "rb") as f:
                    self.assertNotIn(key, f.read(), "API key in clear in " + name)

    def test_secret_files_are_private(self):
        for name in ("operator.key", "token.secret", "token-es256.pem"):
            mode = stat.S_IMODE(os.stat(os.path.join(self.server.data_dir, name)).st_mode)
            self.assertEqual(mode, 0o600, "%s has mode %o" % (name, mode))


@skip_on_distribution("registry auth is strata's (issue 3)")
class Jwks(AuthTestCase):

    def test_lists_a_public_p256_key(self):
        resp = self.anonymous("GET", "/.well-known/jwks.json")
        self.assertEqual(resp.status, 200, resp)
        keys = resp.json()["keys"]
        ec = [k for k in keys if k.get("kty") == "EC"]
        self.assertEqual(len(ec), 1, keys)
        key = ec[0]
        self.assertEqual(key["crv"], "P-256")
        self.assertTrue(key["kid"])
        self.assertEqual(len(b64url_decode(key["x"])), 32)
        self.assertEqual(len(b64url_decode(key["y"])), 32)
        for k in keys:
            # Only public material: no EC private scalar, no symmetric secret.
            self.assertNotIn("d", k)
            self.assertNotIn("k", k)


@skip_on_distribution("registry auth is strata's (issue 3)")
class FilteredCatalog(AuthTestCase):

    REPOS = ["acme/one", "acme/two/deep", "other/app", "cache/global/node"]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for repo in cls.REPOS:
            cls.client.push_image(repo, "v1", fixtures.make_image("auth-catalog-" + repo, layers=1))

    def catalog(self, *access):
        return self.with_token(self.mint(*access)).request("GET", "/v2/_catalog")

    def test_catalog_needs_the_catalog_grant(self):
        resp = self.catalog("repository:**:pull")
        self.assertError(resp, 401, "DENIED")
        params = parse_challenge(resp.header("WWW-Authenticate"))[1]
        self.assertEqual((params.get("error"), params.get("scope")),
                         ("insufficient_scope", "registry:catalog:*"), resp)

    def test_catalog_lists_only_pullable_repositories(self):
        resp = self.catalog("registry:catalog:*", "repository:acme/**:pull")
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json()["repositories"], ["acme/one", "acme/two/deep"])

    def test_catalog_with_everything_lists_everything(self):
        resp = self.client.request("GET", "/v2/_catalog")
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json()["repositories"], sorted(self.REPOS))


@skip_on_distribution("registry auth is strata's (issue 3)")
class DenialMetrics(AuthTestCase):

    def denied(self):
        text = self.anonymous("GET", "/metrics").body.decode()
        counts = {}
        for reason, value in re.findall(
                r'(?m)^strata_auth_denied_total\{[^}]*reason="(\w+)"[^}]*\}\s+([0-9.eE+-]+)$', text):
            counts[reason] = counts.get(reason, 0.0) + float(value)
        return counts

    def test_denials_are_counted_by_reason(self):
        before = self.denied()
        self.assertEqual(self.anonymous("GET", "/v2/metrics/app/tags/list").status, 401)
        self.assertEqual(self.anonymous("GET", "/v2/metrics/app/tags/list", bearer("garbage")).status, 401)
        narrow = self.with_token(self.mint("repository:metrics/other:pull"))
        self.assertEqual(narrow.request("GET", "/v2/metrics/app/tags/list").status, 401)
        reasons = ("missing", "invalid", "scope")
        after = poll(self.denied, lambda now: all(now.get(r, 0) >= before.get(r, 0) + 1 for r in reasons))
        for reason in ("missing", "invalid", "scope"):
            self.assertGreaterEqual(after.get(reason, 0), before.get(reason, 0) + 1,
                                    "reason %s: before %r after %r" % (reason, before, after))

    def test_denials_are_logged_with_principal_repository_and_action(self):
        narrow = self.with_token(self.server.mint_registry_token(
            "repository:logged/other:pull", subject="log-probe"))
        self.assertEqual(narrow.request("GET", "/v2/logged/app/tags/list").status, 401)
        denials = poll(lambda: [line for line in self.server.log_tail(200).splitlines()
                                if "denied" in line and "logged/app" in line], bool)
        self.assertTrue(denials, self.server.log_tail())
        self.assertIn("log-probe", denials[-1])
        self.assertIn("pull", denials[-1])


if __name__ == "__main__":
    unittest.main()
