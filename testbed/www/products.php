<?php
// VULNERABLE ON PURPOSE: the id goes into the SQL text unquoted and unescaped (SQL injection).
require 'db.php';
page_start('Product');
$id = $_GET['id'] ?? '1';
$sql = "SELECT id, name, price, description FROM products WHERE id = $id";
$r = db()->query($sql);
if ($r === false) {
    echo "<p class=error>Database error: " . db()->lastErrorMsg() . "</p>";
} else {
    while ($row = $r->fetchArray(SQLITE3_NUM)) {
        echo "<h2>{$row[1]}</h2><p>Price: {$row[2]}</p><p>{$row[3]}</p>";
    }
}
page_end();
