<?php
// VULNERABLE ON PURPOSE: the query is echoed back without escaping (reflected XSS).
require 'db.php';
page_start('Search');
$q = $_GET['q'] ?? '';
echo "<form><input name=q value=\"$q\"><button>Search</button></form>";
echo "<p>Results for: $q</p><ul>";
$st = db()->prepare('SELECT id, name FROM products WHERE name LIKE :q');
$st->bindValue(':q', "%$q%");
$r = $st->execute();
while ($r && ($row = $r->fetchArray(SQLITE3_NUM))) {
    echo "<li><a href=/products.php?id={$row[0]}>" . htmlspecialchars($row[1]) . "</a></li>";
}
echo "</ul>";
page_end();
