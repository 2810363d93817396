"""A policy restricting the companies its keys' calls run in, over real
HTTP: a call runs in the policy's companies only, and one naming another
company is refused with a machine-readable reason."""

import xmlrpc.client

from odoo.tests import tagged
from odoo.tools import mute_logger

from .test_api_policy import ApiPolicyCase


@tagged("post_install", "-at_install")
class TestPolicyCompanies(ApiPolicyCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.eu, cls.us = cls.env["res.company"].create(
            [{"name": "Policy EU"}, {"name": "Policy US"}]
        )
        cls.api_user.write(
            {"company_ids": [(4, cls.eu.id), (4, cls.us.id)], "company_id": cls.eu.id}
        )
        cls.eu_partner, cls.us_partner = cls.env["res.partner"].create(
            [
                {"name": "EU customer", "company_id": cls.eu.id},
                {"name": "US customer", "company_id": cls.us.id},
            ]
        )
        cls.eu_policy = cls.partners_policy.copy(
            {"name": "EU only", "company_ids": [(6, 0, cls.eu.ids)]}
        )

    def names(self, token, **context):
        response = self.json2(
            token,
            "res.partner",
            "search_read",
            domain=[("id", "in", (self.eu_partner | self.us_partner).ids)],
            fields=["name"],
            context=context,
        )
        return response

    def test_calls_run_in_the_policys_companies_only(self):
        token, _key = self.make_key(self.partners_policy)
        response = self.names(token)
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(
            sorted(r["name"] for r in response.json()),
            ["EU customer", "US customer"],
            "without the option, the user's companies",
        )
        token, _key = self.make_key(self.eu_policy)
        response = self.names(token)
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual([r["name"] for r in response.json()], ["EU customer"])
        response = self.names(token, allowed_company_ids=self.eu.ids)
        self.assertEqual([r["name"] for r in response.json()], ["EU customer"])

    def test_naming_another_company_is_refused(self):
        token, _key = self.make_key(self.eu_policy)
        with self.refused():
            response = self.names(token, allowed_company_ids=[self.eu.id, self.us.id])
        body = self.assertDenied(response, "is not one of the policy's")
        self.assertEqual(body["context"]["policy"]["reason"], "company")

    def test_legacy_rpc_must_name_the_policys_companies(self):
        """Legacy RPC cannot be narrowed to the policy's companies: its
        calls name them, or are refused."""
        self.eu_policy.allow_legacy_rpc = True
        token, _key = self.make_key(self.eu_policy)
        ids = (self.eu_partner | self.us_partner).ids

        def search(**kwargs):
            with mute_logger("odoo.addons.rpc.controllers.xmlrpc"):
                return self.xmlrpc_object.execute_kw(
                    self.env.cr.dbname,
                    self.api_user.id,
                    token,
                    "res.partner",
                    "search",
                    [[("id", "in", ids)]],
                    kwargs,
                )

        self.assertEqual(
            search(context={"allowed_company_ids": self.eu.ids}), self.eu_partner.ids
        )
        for kwargs in ({}, {"context": {"allowed_company_ids": self.us.ids}}):
            with self.refused(), self.assertRaises(xmlrpc.client.Fault) as caught:
                search(**kwargs)
            self.assertIn("Policy 'EU only' refuses", caught.exception.faultString)
